/* The soak's short-lived process: exits 0 with no libc and no dynamic loader, so spawns cost
 * fork and exec only (about 4x /bin/true's rate on the 2-core CI machine). */
void _start(void)
{
#if defined(__x86_64__)
    __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
#elif defined(__aarch64__)
    __asm__ volatile("mov x8, #93\n\tmov x0, #0\n\tsvc #0");
#else
#error "pw_true: no exit syscall for this architecture"
#endif
    for (;;) {
    }
}
