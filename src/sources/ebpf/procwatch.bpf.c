// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
// procwatch eBPF programs: fork, exec and exit records into one ring buffer. tp_btf only
// (fentry/kprobe/classic tracepoints are unavailable on the target machines, see README.md).
// vmlinux.h must come first: it defines the types the others use.
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "ebpf_record.h"
// clang-format on

// bpf_probe_read_* are GPL-only helpers: the license must be GPL-compatible.
char LICENSE[] SEC("license") = "Dual BSD/GPL";

// Set by user space before load (rodata).
const volatile __u32 max_args_bytes = PW_EBPF_ARGS_MAX;
// Wake user space only once this much is queued; it also polls on a short timer. One wakeup
// per record cost more CPU than all the rest of the pipeline at thousands of execs per second.
const volatile __u64 wakeup_bytes = 64 * 1024;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20);  // user space resizes before load
} events SEC(".maps");

// Records that did not fit in the ring buffer, per CPU; user space sums them.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");

// Per-CPU scratch: an exec record is too big for the 512-byte stack. Raw tracepoints run
// with preemption disabled and a per-program recursion guard, so one slot per CPU is enough.
struct scratch {
  char path[PW_EBPF_PATH_MAX * 2];  // names are prepended backwards ending at PATH_MAX
  struct pw_ebpf_exec rec;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct scratch);
} scratch_map SEC(".maps");

static __always_inline __u64 submit_flags(void) {
  return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
                                                                        : BPF_RB_NO_WAKEUP;
}

static __always_inline void count_lost(void) {
  __u32 zero = 0;
  __u64 *n = bpf_map_lookup_elem(&lost, &zero);
  if (n) __sync_fetch_and_add(n, 1);
}

static __always_inline void fill_header(struct pw_ebpf_header *h, __u32 type, __u32 size) {
  h->type = type;
  h->size = size;
  h->ts_ns = bpf_ktime_get_ns();
  h->cpu = bpf_get_smp_processor_id();
  h->reserved = 0;
}

static __always_inline __u64 leader_start_ns(struct task_struct *t) {
  return BPF_CORE_READ(t, group_leader, start_boottime);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pw_fork, struct task_struct *parent, struct task_struct *child) {
  struct pw_ebpf_fork *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
  if (!r) {
    count_lost();
    return 0;
  }
  fill_header(&r->hdr, PW_EBPF_FORK, sizeof(*r));
  r->parent_pid = BPF_CORE_READ(parent, pid);
  r->parent_tgid = BPF_CORE_READ(parent, tgid);
  r->child_pid = BPF_CORE_READ(child, pid);
  r->child_tgid = BPF_CORE_READ(child, tgid);
  r->real_parent_tgid = BPF_CORE_READ(child, real_parent, tgid);
  r->flags = r->child_pid != r->child_tgid ? PW_FORK_THREAD : 0;
  // The child's group_leader is set by copy_process before this tracepoint fires.
  r->child_start_ns = leader_start_ns(child);
  bpf_ringbuf_submit(r, submit_flags());
  return 0;
}

// Only the task argument is used: 6.18 added a bool group_dead, older kernels lack it, and
// signal->live gives the same answer on both.
SEC("tp_btf/sched_process_exit")
int BPF_PROG(pw_exit, struct task_struct *p) {
  struct pw_ebpf_exit *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
  if (!r) {
    count_lost();
    return 0;
  }
  fill_header(&r->hdr, PW_EBPF_EXIT, sizeof(*r));
  r->pid = BPF_CORE_READ(p, pid);
  r->tgid = BPF_CORE_READ(p, tgid);
  r->exit_code = BPF_CORE_READ(p, exit_code);
  r->exit_signal = BPF_CORE_READ(p, exit_signal);
  r->parent_pid = BPF_CORE_READ(p, real_parent, pid);
  r->parent_tgid = BPF_CORE_READ(p, real_parent, tgid);
  r->flags = BPF_CORE_READ(p, signal, live.counter) == 0 ? PW_EXIT_GROUP_DEAD : 0;
  // The image's file, unlinked since the exec? Measured on 6.18: the mm is still attached
  // here. Where the tracepoint fires after exit_mm() mm is NULL and EXE_CHECKED stays unset.
  struct mm_struct *mm = BPF_CORE_READ(p, mm);
  if (mm) {
    struct dentry *d = BPF_CORE_READ(mm, exe_file, f_path.dentry);
    if (d) {
      r->flags |= PW_EXIT_EXE_CHECKED;
      if (!BPF_CORE_READ(d, d_hash.pprev)) r->flags |= PW_EXIT_EXE_DELETED;
    }
  }
  r->reserved = 0;
  r->start_ns = leader_start_ns(p);
  bpf_ringbuf_submit(r, submit_flags());
  return 0;
}

// Path walk state for bpf_loop: like the kernel's prepend_path(), from the file's dentry up
// to the root of its mount, then across to the mountpoint in the parent mount, until the
// root mount of the namespace.
struct walk_ctx {
  struct dentry *dentry;
  struct mount *mnt;
  struct dentry *mnt_root;
  __u32 pos;  // path occupies scratch.path[pos, PW_EBPF_PATH_MAX)
  __u32 flags;
  __u32 done;
};

static long walk_step(__u32 i, void *arg) {
  struct walk_ctx *c = arg;
  __u32 zero = 0;
  struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
  if (!s) return 1;

  struct dentry *d = c->dentry;
  struct dentry *parent = BPF_CORE_READ(d, d_parent);
  int last = 0;
  if (d == c->mnt_root) {
    struct mount *m = c->mnt;
    struct mount *pm = BPF_CORE_READ(m, mnt_parent);
    if (m == pm) {  // the root mount of the namespace
      c->done = 1;
      return 1;
    }
    c->dentry = BPF_CORE_READ(m, mnt_mountpoint);
    c->mnt = pm;
    c->mnt_root = BPF_CORE_READ(pm, mnt.mnt_root);
    return 0;
  }
  if (d == parent) {
    // A root dentry that is not its mount's root. As the file itself it is a pseudo file
    // (memfd, from d_alloc_pseudo), which d_path shows as "/<name> (deleted)"; higher up
    // it is a disconnected ancestor and the path cannot be completed.
    if (c->pos != PW_EBPF_PATH_MAX) {
      c->flags |= PW_EXEC_PATH_TRUNCATED;
      c->done = 1;
      return 1;
    }
    last = 1;
  }

  __u32 len = BPF_CORE_READ(d, d_name.len);
  const unsigned char *name = BPF_CORE_READ(d, d_name.name);
  if (len == 0 || len > 255 || len + 1 > c->pos) {
    c->flags |= PW_EXEC_PATH_TRUNCATED;
    c->done = 1;
    return 1;
  }
  __u32 off = c->pos - len - 1;  // where '/' goes
  s->path[off & (PW_EBPF_PATH_MAX - 1)] = '/';
  if (bpf_probe_read_kernel(&s->path[(off + 1) & (PW_EBPF_PATH_MAX - 1)], len & 255, name) < 0)
    c->flags |= PW_EXEC_PATH_FAULT;
  c->pos = off;
  c->dentry = parent;
  if (last) {
    c->done = 1;
    return 1;
  }
  return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pw_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
  __u32 zero = 0;
  struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
  if (!s) return 0;
  struct pw_ebpf_exec *r = &s->rec;

  r->pid = BPF_CORE_READ(p, pid);
  r->tgid = BPF_CORE_READ(p, tgid);
  r->ppid = BPF_CORE_READ(p, real_parent, tgid);
  r->old_pid = old_pid;
  const struct cred *cred = BPF_CORE_READ(p, cred);
  r->uid = BPF_CORE_READ(cred, uid.val);
  r->gid = BPF_CORE_READ(cred, gid.val);
  r->euid = BPF_CORE_READ(cred, euid.val);
  r->egid = BPF_CORE_READ(cred, egid.val);
  r->cgroup_id = bpf_get_current_cgroup_id();  // current == p in sched_process_exec
  r->start_ns = BPF_CORE_READ(p, start_boottime);
  bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), p->comm);
  r->flags = 0;
  r->reserved = 0;

  // Absolute path of the executed file (after binfmt_script/misc: the interpreter).
  struct file *file = BPF_CORE_READ(bprm, file);
  struct dentry *exe_dentry = BPF_CORE_READ(file, f_path.dentry);
  struct walk_ctx c = {};
  c.dentry = exe_dentry;
  struct vfsmount *vfsmnt = BPF_CORE_READ(file, f_path.mnt);
  c.mnt = container_of(vfsmnt, struct mount, mnt);
  c.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
  c.pos = PW_EBPF_PATH_MAX;
  // Unhashed: unlinked, or a pseudo file (memfd) that never had a name in a directory.
  if (!BPF_CORE_READ(exe_dentry, d_hash.pprev)) c.flags |= PW_EXEC_PATH_DELETED;
  bpf_loop(PW_EBPF_PATH_DEPTH, walk_step, &c, 0);
  if (!c.done) c.flags |= PW_EXEC_PATH_TRUNCATED;
  r->flags |= c.flags;

  __u32 pos = c.pos;
  if (pos > PW_EBPF_PATH_MAX) pos = PW_EBPF_PATH_MAX;
  __u32 path_len = PW_EBPF_PATH_MAX - pos;
  if (path_len == 0) {  // the file is the root directory itself: cannot happen for exec
    r->data[0] = '/';
    path_len = 1;
  } else {
    bpf_probe_read_kernel(r->data, path_len & (2 * PW_EBPF_PATH_MAX - 1),
                          &s->path[pos & (PW_EBPF_PATH_MAX - 1)]);
  }
  if (path_len > PW_EBPF_PATH_MAX) path_len = PW_EBPF_PATH_MAX;
  r->path_len = path_len;

  // argv as the new image sees it: [arg_start, arg_end) of the new mm.
  struct mm_struct *mm = BPF_CORE_READ(p, mm);
  unsigned long arg_start = BPF_CORE_READ(mm, arg_start);
  unsigned long arg_end = BPF_CORE_READ(mm, arg_end);
  __u64 args_len = arg_end > arg_start ? arg_end - arg_start : 0;
  __u32 cap = max_args_bytes;
  if (cap > PW_EBPF_ARGS_MAX) cap = PW_EBPF_ARGS_MAX;
  if (args_len > cap) {
    args_len = cap;
    r->flags |= PW_EXEC_ARGS_TRUNCATED;
  }
  __u32 alen = args_len;
  if (alen > PW_EBPF_ARGS_MAX) alen = PW_EBPF_ARGS_MAX;
  __u32 plen = path_len;
  asm volatile("" : "+r"(plen));
  if (plen > PW_EBPF_PATH_MAX) plen = PW_EBPF_PATH_MAX;
  if (alen > 0 && bpf_probe_read_user(&r->data[plen], alen, (const void *)arg_start) < 0) {
    r->flags |= PW_EXEC_ARGS_FAULT;
    alen = 0;
  }
  r->args_len = alen;

  __u32 size = PW_EBPF_EXEC_FIXED_SIZE + plen + alen;
  if (size > sizeof(*r)) size = sizeof(*r);
  fill_header(&r->hdr, PW_EBPF_EXEC, size);
  if (bpf_ringbuf_output(&events, r, size, submit_flags()) < 0) count_lost();
  return 0;
}
