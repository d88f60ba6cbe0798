// ProcReader: reads /proc (or a fixture tree at `root`) and returns ProcInfo values.
// Thread-safe for concurrent reads (no shared mutable state except the user-name cache,
// which is internally locked and shared process-wide). A process that vanished is not an error: what could be read
// is returned with incomplete = true.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/proc_event.h"
#include "core/proc_info.h"
#include "core/result.h"
#include "core/user_names.h"
#include "procfs/parsers.h"

namespace procwatch::procfs {

class CgroupResolver;

struct ReadLimits {
  size_t max_args = 256;
  size_t max_arg_bytes = 4096;  // total argv bytes kept
};

class ProcReader {
 public:
  // users: the uid -> name cache (not owned; null = UserNameCache::shared()).
  explicit ProcReader(std::string root = "/proc", ReadLimits limits = {},
                      UserNameCache* users = nullptr);

  const std::string& root() const { return root_; }

  // Numeric entries of root, unsorted.
  std::vector<int32_t> list_pids() const;

  // Raw file text of root/PID/name, up to max_bytes. Error (with errno) when unreadable.
  Result<std::string> read_file(int32_t pid, const char* name, size_t max_bytes = 65536) const;

  // Fast path used by sources right after an exec event: exe link, argv, stat, ids and
  // cgroup, exe and argv first (they vanish at exit). On our own /proc, argv is read from
  // the process's memory where stat says it lies (cmdline when that fails). With pidfd ids and a resolver (owned
  // by the calling thread), the cgroup path comes from the pidfd's cgroup2 id instead of
  // /proc/PID/cgroup; a resolver miss falls back to the file.
  // Fills what it could; leaves the rest unset.
  ExecCapture capture_exec(int32_t pid, CgroupResolver* cgroups = nullptr) const;
  // How many captures took argv from process memory rather than cmdline.
  uint64_t argv_from_memory() const { return argv_from_memory_.load(std::memory_order_relaxed); }
  // Whether capture_exec reads ids through a pidfd rather than /proc/PID/status.
  bool pidfd_ids() const { return pidfd_ids_; }

  // start time (field 22) only, for fork events. nullopt when the process is gone.
  std::optional<uint64_t> read_start_time(int32_t pid) const;

  // Full enrichment of one process: stat, status, exe, cmdline, cgroup, attr/current, user.
  // Fields already present in `base` (from a capture) are kept, not re-read.
  // Returns nullopt only when not even stat could be read and base has no start time.
  std::optional<ProcInfo> read_process(int32_t pid, const ExecCapture* base = nullptr) const;

  // Every process under root, fully read (read_process for each pid in list_pids()).
  // Processes that vanish during the scan are skipped.
  std::vector<ProcInfo> scan() const;

  // Called on every ProcInfo read whose container_id is set, to add the container's names
  // (app wires containers::ContainerResolver::fill here). Set before reading; it must be
  // thread-safe. Never called for a process outside a container.
  using ContainerNamer = std::function<void(ProcInfo&)>;
  void set_container_namer(ContainerNamer namer) { container_namer_ = std::move(namer); }

  // uid -> user name through the shared UserNameCache; numeric string when unknown.
  std::string user_name(uint32_t uid) const;

 private:
  std::optional<ProcInfo> read_process_impl(int32_t pid, const ExecCapture* base,
                                            bool with_parent) const;
  // attr/current of pid; "" without an LSM label (not read at all when none is enabled).
  std::string read_context(int32_t pid) const;

  void set_container(ProcInfo& info) const;

  std::string root_;
  ReadLimits limits_;
  ContainerNamer container_namer_;
  bool lsm_labels_ = true;  // false when attr/current is EINVAL for ourselves
  bool own_proc_ = false;   // root is the /proc of our pid namespace (pids are ours)
  bool pidfd_ids_ = false;  // capture_exec takes ids from PIDFD_GET_INFO (Linux 6.13+)
  mutable std::atomic<uint64_t> argv_from_memory_{0};
  UserNameCache* users_;
};

}  // namespace procwatch::procfs
