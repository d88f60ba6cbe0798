// Pure parsers for /proc/PID files. No I/O: each takes the file's text and returns values or
// an Error naming what was wrong. Never throw, never crash on malformed input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace procwatch::procfs {

// The one /proc/PID/stat parser (table, reader and ps-style sampling all use it). comm may hold
// spaces, parentheses and any byte but NUL, so fields 3.. are read after the LAST ')'.
struct Stat {              // /proc/PID/stat
  int32_t pid = 0;
  std::string comm;        // between the first '(' and the LAST ')'
  char state = '?';
  int32_t ppid = 0;
  int32_t pgrp = 0, session = 0;   // fields 5, 6
  int32_t tty_nr = 0, tpgid = -1;  // fields 7, 8 (tpgid -1: no controlling terminal)
  uint32_t flags = 0;              // field 9, PF_* (PF_KTHREAD = 0x00200000)
  uint64_t utime = 0, stime = 0;   // clock ticks (fields 14, 15)
  int64_t nice = 0;                // field 19
  int64_t num_threads = 0;         // field 20
  uint64_t start_time = 0;         // field 22, clock ticks since boot
  uint64_t vsize = 0;              // field 23, bytes
  int64_t rss_pages = 0;           // field 24
  // fields 48, 49: where argv lies in the process's memory; 0 when the kernel hides them
  // (no ptrace read access) or the line is shorter (kernels before 3.5, fixtures).
  uint64_t arg_start = 0, arg_end = 0;
};
Result<Stat> parse_stat(std::string_view text);

struct Status {            // /proc/PID/status (the fields procwatch uses)
  std::string name;
  int32_t tgid = 0, ppid = 0;
  uint32_t uid[4] = {0, 0, 0, 0};  // real, effective, saved, fs
  uint32_t gid[4] = {0, 0, 0, 0};
  int64_t threads = 0;
  uint64_t vm_rss_kb = 0, vm_size_kb = 0;
};
Result<Status> parse_status(std::string_view text);

// argv from /proc/PID/cmdline (NUL-separated). At most max_args args and max_bytes bytes in
// all; *truncated is set when anything was cut. Empty input gives an empty vector (zombie or
// kernel thread).
std::vector<std::string> parse_cmdline(std::string_view raw, size_t max_args, size_t max_bytes,
                                       bool* truncated);

// The cgroup path from /proc/PID/cgroup: the v2 "0::" line when present, else the
// "name=systemd" line, else the first line's path. Error on text with no valid line.
Result<std::string> parse_cgroup(std::string_view text);

// What a cgroup path says about containers. `kind` is "container" for a container's own
// processes, "runtime" for the runtime's monitor beside it (podman's and CRI-O's conmon, the
// LXC monitor, the systemd-nspawn supervisor; `id` is then the container it watches), "" when
// the path names no container (`id` and `runtime` empty; `pod_uid` may still be set, e.g. for
// a pod-level cgroup). `id` is 64 lowercase hex for docker, containerd, CRI-O, podman and
// kubepods, the container name for LXC/LXD and systemd-nspawn. `runtime` is one of "docker",
// "containerd", "cri-o", "podman", "cri" (a kubelet cgroupfs path, which does not say which
// CRI runtime), "lxc", "systemd-nspawn". `pod_uid` is the Kubernetes pod UID with dashes.
struct ContainerRef {
  std::string id, runtime, kind, pod_uid;
};
ContainerRef container_from_cgroup(std::string_view cgroup_path);

// container_from_cgroup(path).id when its kind is "container", else "".
std::string container_id_from_cgroup(std::string_view cgroup_path);

// attr/current: trailing NUL and newline removed; "" stays "".
std::string parse_attr_current(std::string_view text);

// exe link target: strips a trailing " (deleted)" and reports it.
struct ExeLink {
  std::string path;
  bool deleted = false;
};
ExeLink parse_exe_link(std::string_view target);

}  // namespace procwatch::procfs
