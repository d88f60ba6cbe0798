#include "procfs/cgroup_resolver.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace procwatch::procfs {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(char((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> f;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) f.push_back(line.substr(i, j - i));
    i = j;
  }
  return f;
}

}  // namespace

std::optional<std::string> cgroup2_mount_from_mountinfo(std::string_view text) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    // id parent major:minor root mountpoint options [optional...] - fstype source super
    auto f = split_ws(line);
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 1 >= f.size()) continue;
    if (f[dash + 1] == "cgroup2" && f[3] == "/") return unescape(f[4]);
  }
  return std::nullopt;
}

Result<std::string> find_cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return make_error("cannot read /proc/self/mountinfo", errno);
  std::stringstream ss;
  ss << in.rdbuf();
  auto m = cgroup2_mount_from_mountinfo(ss.str());
  if (!m) return make_error("no cgroup2 filesystem mounted", ENOENT);
  return *m;
}

CgroupResolver::CgroupResolver(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  root_fd_ = open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) return;
  // Learn the file-handle type cgroupfs uses (FILEID_KERNFS); the handle body is the 64-bit
  // kernfs id, which is the cgroup id.
  struct {
    file_handle fh;
    unsigned char body[64];
  } h{};
  h.fh.handle_bytes = sizeof(h.body);
  int mount_id = 0;
  if (name_to_handle_at(root_fd_, "", &h.fh, &mount_id, AT_EMPTY_PATH) == 0 &&
      h.fh.handle_bytes == sizeof(uint64_t))
    handle_type_ = h.fh.handle_type;
}

CgroupResolver::~CgroupResolver() {
  if (root_fd_ >= 0) close(root_fd_);
}

std::optional<std::string> CgroupResolver::resolve_by_handle(uint64_t id) {
  if (handle_type_ < 0 || root_fd_ < 0) return std::nullopt;
  struct {
    file_handle fh;
    unsigned char body[sizeof(uint64_t)];
  } h{};
  h.fh.handle_bytes = sizeof(uint64_t);
  h.fh.handle_type = handle_type_;
  std::memcpy(h.body, &id, sizeof(id));
  int fd = open_by_handle_at(root_fd_, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char link[64];
  std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  std::string target(4096, '\0');
  ssize_t n = readlink(link, target.data(), target.size());
  close(fd);
  if (n <= 0 || size_t(n) >= target.size()) return std::nullopt;
  target.resize(size_t(n));
  // The link is in our mount namespace: strip the mount point.
  if (target == root_) return std::string("/");
  if (target.size() > root_.size() && target.compare(0, root_.size(), root_) == 0 &&
      target[root_.size()] == '/')
    return target.substr(root_.size());
  if (root_ == "/") return target;
  return std::nullopt;
}

void CgroupResolver::walk(int dirfd, const std::string& rel, int depth) {
  struct stat st {};
  if (fstat(dirfd, &st) == 0) cache_[uint64_t(st.st_ino)] = rel.empty() ? "/" : rel;
  if (depth >= 64) return;
  DIR* d = fdopendir(dirfd);
  if (!d) {
    close(dirfd);
    return;
  }
  while (dirent* e = readdir(d)) {
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    int child = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0) continue;  // raced with rmdir, or not a directory
    walk(child, rel + "/" + e->d_name, depth + 1);
  }
  closedir(d);  // closes dirfd
}

void CgroupResolver::rescan() {
  ++rescans_;
  cache_.clear();
  missing_.clear();
  if (root_fd_ < 0) return;
  int fd = openat(root_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) walk(fd, "", 0);
}

std::optional<std::string> CgroupResolver::resolve(uint64_t id) {
  if (auto it = cache_.find(id); it != cache_.end()) return it->second;
  if (cache_.size() >= kMaxEntries) cache_.clear();
  if (auto p = resolve_by_handle(id)) {
    ++handle_hits_;
    cache_[id] = *p;
    return p;
  }
  // Without file handles (no privilege) fall back to a full walk, once per unknown id.
  if (missing_.count(id)) return std::nullopt;
  rescan();
  if (auto it = cache_.find(id); it != cache_.end()) return it->second;
  if (missing_.size() < kMaxEntries) missing_.insert(id);
  return std::nullopt;
}

}  // namespace procwatch::procfs
