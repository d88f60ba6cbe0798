// ProcInfo: the full identity of one live process, as kept in the process table and shown by
// `trace` and `tree`. A value type; the table owns the live copies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/proc_event.h"

namespace procwatch {

struct ProcInfo {
  ProcKey key;          // pid + start time (ticks since boot)
  int32_t ppid = 0;
  uint64_t parent_start_time = 0;  // identity of the parent, so a reused ppid is not confused
  std::string comm;
  std::string exe;      // absolute path as the kernel resolved it; empty when unknown
  bool exe_deleted = false;
  std::vector<std::string> argv;
  bool argv_truncated = false;
  uint32_t uid = 0, euid = 0, gid = 0, egid = 0;
  bool ids_known = false;
  std::string user;     // name of uid, resolved once and cached
  std::string cgroup;   // cgroup v2 path (or the v1 name=systemd/first line on hybrid)
  std::string container_id;       // the container the process runs in (procfs::container_from_cgroup)
  std::string container_runtime;  // "docker", "podman", ...; also set, with container_id empty,
                                  // for the runtime's own monitor (conmon, LXC monitor)
  std::string pod_uid;            // Kubernetes pod UID from a kubepods cgroup
  // Names from the runtime's files (containers::ContainerResolver); empty when unknown.
  std::string container_name, image, pod, pod_namespace;
  std::string context;  // SELinux / AppArmor label from attr/current; empty where none
  uint32_t threads = 1;
  bool incomplete = false;  // gone before everything could be read
  uint64_t start_ns = 0;    // CLOCK_MONOTONIC when it started (fork event or derived)
  std::string tree;         // tree name (naming module), empty until computed
};

}  // namespace procwatch
