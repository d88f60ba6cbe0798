/* Records the eBPF programs (procwatch.bpf.c) write to the ring buffer and the C++ decoder
 * reads. Shared by both sides: fixed-width types only, explicit padding, no pointers. */
#ifndef PROCWATCH_EBPF_RECORD_H
#define PROCWATCH_EBPF_RECORD_H

#ifdef __bpf__
/* vmlinux.h (included first by the .bpf.c) provides __u32 and friends. */
typedef __u16 pw_u16;
typedef __u32 pw_u32;
typedef __s32 pw_s32;
typedef __u64 pw_u64;
#else
#include <stdint.h>
typedef uint16_t pw_u16;
typedef uint32_t pw_u32;
typedef int32_t pw_s32;
typedef uint64_t pw_u64;
#endif

#define PW_EBPF_COMM_LEN 16
/* Path and argv caps. PATH_MAX bytes for the path; argv is capped at load time by the
 * max_args_bytes rodata value, never above PW_EBPF_ARGS_MAX. Both are powers of two so the
 * verifier can bound offsets with a mask. */
#define PW_EBPF_PATH_MAX 4096
#define PW_EBPF_ARGS_MAX 4096
/* Upper bound of dentries (path components + mount crossings) walked per exec. */
#define PW_EBPF_PATH_DEPTH 128

enum pw_ebpf_type {
  PW_EBPF_FORK = 1,
  PW_EBPF_EXEC = 2,
  PW_EBPF_EXIT = 3,
};

/* Fork flags */
#define PW_FORK_THREAD 0x1u /* CLONE_THREAD: a new thread in the parent's process */

/* Exit flags */
#define PW_EXIT_GROUP_DEAD 0x1u /* the last live thread of its process exited (two threads
                                   dying at once may both say so) */
#define PW_EXIT_EXE_CHECKED 0x2u /* the task still had its mm: EXE_DELETED is an answer */
#define PW_EXIT_EXE_DELETED 0x4u /* mm->exe_file's dentry is unhashed (unlinked, memfd) */

/* Exec flags */
#define PW_EXEC_PATH_TRUNCATED 0x1u /* path longer than PATH_MAX or deeper than PATH_DEPTH */
#define PW_EXEC_PATH_DELETED 0x2u   /* the executed file was unlinked */
#define PW_EXEC_PATH_FAULT 0x4u     /* a dentry name could not be read */
#define PW_EXEC_ARGS_TRUNCATED 0x8u /* argv longer than max_args_bytes */
#define PW_EXEC_ARGS_FAULT 0x10u    /* argv could not be read from user memory */

struct pw_ebpf_header {
  pw_u32 type; /* enum pw_ebpf_type */
  pw_u32 size; /* bytes of the whole record, this header included */
  pw_u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
  pw_u32 cpu;
  pw_u32 reserved;
};

/* "pid" is the kernel's per-thread id, "tgid" the process id. */
struct pw_ebpf_fork {
  struct pw_ebpf_header hdr;
  pw_s32 parent_pid;  /* the thread that called fork/clone */
  pw_s32 parent_tgid;
  pw_s32 child_pid;
  pw_s32 child_tgid;
  pw_s32 real_parent_tgid; /* the child's real_parent (differs with CLONE_PARENT) */
  pw_u32 flags;            /* PW_FORK_* */
  pw_u64 child_start_ns;   /* child's group leader start_boottime, ns since boot */
};

struct pw_ebpf_exit {
  struct pw_ebpf_header hdr;
  pw_s32 pid;
  pw_s32 tgid;
  pw_u32 exit_code;   /* raw wait status: code << 8 | signal */
  pw_u32 exit_signal; /* signal the parent gets (SIGCHLD), -1 for threads */
  pw_s32 parent_pid;  /* real_parent */
  pw_s32 parent_tgid;
  pw_u32 flags;       /* PW_EXIT_* */
  pw_u32 reserved;
  pw_u64 start_ns;    /* group leader start_boottime */
};

/* Variable length on the wire: hdr.size = offsetof(data) + path_len + args_len. data holds
 * path_len bytes of absolute path (no NUL), then args_len bytes of NUL-separated argv. */
struct pw_ebpf_exec {
  struct pw_ebpf_header hdr;
  pw_s32 pid; /* == tgid after exec */
  pw_s32 tgid;
  pw_s32 ppid; /* real_parent->tgid */
  pw_s32 old_pid; /* the thread id that called execve (differs when a non-leader thread execs) */
  pw_u32 uid;
  pw_u32 gid;
  pw_u32 euid;
  pw_u32 egid;
  pw_u64 cgroup_id; /* cgroup v2 id == inode number of the cgroup directory */
  pw_u64 start_ns;  /* start_boottime, ns since boot */
  char comm[PW_EBPF_COMM_LEN];
  pw_u32 flags; /* PW_EXEC_* */
  pw_u32 path_len;
  pw_u32 args_len;
  pw_u32 reserved;
  char data[PW_EBPF_PATH_MAX + PW_EBPF_ARGS_MAX];
};

#define PW_EBPF_EXEC_FIXED_SIZE 104 /* offsetof(struct pw_ebpf_exec, data) */

#endif /* PROCWATCH_EBPF_RECORD_H */
