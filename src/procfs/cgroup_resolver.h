// CgroupResolver: cgroup v2 id (the inode number of the cgroup directory, as
// bpf_get_current_cgroup_id() returns it) -> path relative to the cgroup2 root, in the form
// of /proc/PID/cgroup's "0::" line ("/" for the root). Results are cached; a miss first tries
// open_by_handle_at (one syscall, needs CAP_DAC_READ_SEARCH), then rescans the hierarchy.
// Not thread-safe: owned and called by one thread (a source's reader).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/result.h"

namespace procwatch::procfs {

// The mount point of the cgroup2 filesystem from /proc/self/mountinfo text ("/sys/fs/cgroup"
// on unified systems, "/sys/fs/cgroup/unified" on hybrid ones). Octal escapes are decoded.
std::optional<std::string> cgroup2_mount_from_mountinfo(std::string_view mountinfo);
// Reads /proc/self/mountinfo; Error when no cgroup2 filesystem is mounted.
Result<std::string> find_cgroup2_mount();

class CgroupResolver {
 public:
  explicit CgroupResolver(std::string root);  // the cgroup2 mount point
  ~CgroupResolver();
  CgroupResolver(const CgroupResolver&) = delete;
  CgroupResolver& operator=(const CgroupResolver&) = delete;

  // nullopt when no cgroup with that id exists (any more).
  std::optional<std::string> resolve(uint64_t id);

  const std::string& root() const { return root_; }
  uint64_t rescans() const { return rescans_; }
  uint64_t handle_hits() const { return handle_hits_; }

 private:
  std::optional<std::string> resolve_by_handle(uint64_t id);
  void rescan();
  void walk(int dirfd, const std::string& rel, int depth);

  static constexpr size_t kMaxEntries = 16384;  // cache bound; cleared when exceeded
  std::string root_;
  int root_fd_ = -1;
  int handle_type_ = -1;  // from name_to_handle_at on the root; -1 when unsupported
  std::unordered_map<uint64_t, std::string> cache_;
  std::unordered_set<uint64_t> missing_;  // ids not found since the last rescan
  uint64_t rescans_ = 0;
  uint64_t handle_hits_ = 0;
};

}  // namespace procwatch::procfs
