#include "naming/base_set.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

namespace procwatch {
namespace {

constexpr const char* kBuiltin[] = {
    // coreutils
    "[", "arch", "b2sum", "base32", "base64", "basename", "basenc", "cat", "chcon", "chgrp",
    "chmod", "chown", "chroot", "cksum", "comm", "cp", "csplit", "cut", "date", "dd", "df", "dir",
    "dircolors", "dirname", "du", "echo", "env", "expand", "expr", "factor", "false", "fmt", "fold",
    "groups", "head", "hostid", "id", "install", "join", "link", "ln", "logname", "ls", "md5sum",
    "mkdir", "mkfifo", "mknod", "mktemp", "mv", "nice", "nl", "nohup", "nproc", "numfmt", "od",
    "paste", "pathchk", "pinky", "pr", "printenv", "printf", "ptx", "pwd", "readlink", "realpath",
    "rm", "rmdir", "runcon", "seq", "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum",
    "shred", "shuf", "sleep", "sort", "split", "stat", "stdbuf", "stty", "sum", "sync", "tac",
    "tail", "tee", "test", "timeout", "touch", "tr", "true", "truncate", "tsort", "tty", "uname",
    "unexpand", "uniq", "unlink", "users", "vdir", "wc", "who", "whoami", "yes",
    // shells
    "sh", "bash", "rbash", "dash", "ash",
    // text and files
    "grep", "egrep", "fgrep", "sed", "awk", "mawk", "gawk", "nawk", "find", "xargs", "diff",
    "diff3", "cmp", "sdiff", "tar", "gzip", "gunzip", "zcat", "zgrep", "zless", "zmore", "zdiff",
    "uncompress", "more", "which",
    // system
    "hostname", "login", "su", "kill", "mount", "umount", "dmesg", "logger", "getopt", "flock",
    "ionice", "renice", "setsid", "taskset", "runuser", "nologin", "more", "findmnt", "lsblk",
    "run-parts", "tempfile", "ldd", "ldconfig", "getconf", "getent", "iconv", "locale",
    "start-stop-daemon", "pidof", "killall5"};

// Whole-file read with plain syscalls: the status file is ~1 MB and read once at start-up.
bool read_file(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  out.clear();
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      int err = errno;
      ::close(fd);
      errno = err;
      return n == 0;
    }
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

struct Package {
  std::string name, arch;
  bool essential = false;
  bool installed = false;
};

// Calls `fn(pkg)` for each paragraph of a dpkg status file.
template <class Fn>
void for_each_package(std::string_view text, Fn fn) {
  Package pkg;
  auto flush = [&] {
    if (!pkg.name.empty()) fn(pkg);
    pkg = Package{};
  };
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find('\n', i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(i, end - i);
    i = end + 1;
    if (trim(line).empty()) {
      flush();
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') continue;  // continuation line
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (key == "Package") {
      pkg.name = value;
    } else if (key == "Architecture") {
      pkg.arch = value;
    } else if (key == "Essential") {
      pkg.essential = value == "yes";
    } else if (key == "Status") {
      pkg.installed = value == "install ok installed";
    }
  }
  flush();
}

void add_executables(std::string_view list, std::vector<std::string>& out) {
  static constexpr std::string_view kDirs[] = {"/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/"};
  size_t i = 0;
  while (i < list.size()) {
    size_t end = list.find('\n', i);
    if (end == std::string_view::npos) end = list.size();
    std::string_view line = trim(list.substr(i, end - i));
    i = end + 1;
    for (std::string_view dir : kDirs) {
      if (line.size() > dir.size() && line.substr(0, dir.size()) == dir) {
        std::string_view base = line.substr(dir.size());
        if (base.find('/') == std::string_view::npos) out.emplace_back(base);
        break;
      }
    }
  }
}

}  // namespace

BaseSet::BaseSet(std::vector<std::string> names, Source source)
    : names_(std::move(names)), source_(source) {
  std::sort(names_.begin(), names_.end());
  names_.erase(std::unique(names_.begin(), names_.end()), names_.end());
}

bool BaseSet::contains(std::string_view name) const {
  return std::binary_search(names_.begin(), names_.end(), name,
                            [](std::string_view a, std::string_view b) { return a < b; });
}

void BaseSet::add(std::string_view name) {
  auto it = std::lower_bound(names_.begin(), names_.end(), name,
                             [](const std::string& a, std::string_view b) { return a < b; });
  if (it == names_.end() || *it != name) names_.insert(it, std::string(name));
}

void BaseSet::remove(std::string_view name) {
  auto it = std::lower_bound(names_.begin(), names_.end(), name,
                             [](const std::string& a, std::string_view b) { return a < b; });
  if (it != names_.end() && *it == name) names_.erase(it);
}

Result<BaseSet> load_dpkg_base_set(const std::string& dpkg_root) {
  std::string status;
  const std::string status_path = dpkg_root + "/status";
  if (!read_file(status_path, status)) {
    int err = errno;
    return make_error("cannot read " + status_path + ": " + std::strerror(err), err);
  }
  std::vector<std::string> names;
  std::string list;
  for_each_package(status, [&](const Package& pkg) {
    if (!pkg.essential || !pkg.installed) return;
    // Multi-Arch: same packages name their list <pkg>:<arch>.list.
    if (read_file(dpkg_root + "/info/" + pkg.name + ".list", list) ||
        (!pkg.arch.empty() &&
         read_file(dpkg_root + "/info/" + pkg.name + ":" + pkg.arch + ".list", list))) {
      add_executables(list, names);
    }
  });
  return BaseSet(std::move(names), BaseSet::Source::kDpkg);
}

BaseSet builtin_base_set() {
  return BaseSet(std::vector<std::string>(std::begin(kBuiltin), std::end(kBuiltin)),
                 BaseSet::Source::kBuiltin);
}

BaseSet load_base_set(const std::string& dpkg_root) {
  if (!dpkg_root.empty()) {
    auto dpkg = load_dpkg_base_set(dpkg_root);
    // An empty essential set means a stub database, not a system without basic tools.
    if (dpkg.ok() && dpkg->size() > 0) return std::move(dpkg).value();
  }
  return builtin_base_set();
}

}  // namespace procwatch
