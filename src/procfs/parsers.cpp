#include "procfs/parsers.h"

#include <charconv>
#include <string>
#include <system_error>

namespace procwatch::procfs {
namespace {

template <class T>
bool to_number(std::string_view s, T* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Next space-separated token of s (consumed), empty at the end.
std::string_view next_token(std::string_view* s) {
  size_t i = 0;
  while (i < s->size() && ((*s)[i] == ' ' || (*s)[i] == '\t')) ++i;
  size_t j = i;
  while (j < s->size() && (*s)[j] != ' ' && (*s)[j] != '\t' && (*s)[j] != '\n') ++j;
  std::string_view tok = s->substr(i, j - i);
  s->remove_prefix(j);
  return tok;
}

Error field_error(const char* file, int index, const char* name, const char* what) {
  return make_error(std::string(file) + ": field " + std::to_string(index) + " (" + name + ") " +
                    what);
}

bool is_lower_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// Id from one cgroup path element; `prev` is the element before it ("" at the top).
std::string_view container_id_from_element(std::string_view elem, std::string_view prev) {
  static constexpr std::string_view kScopePrefixes[] = {"docker-", "cri-containerd-", "crio-",
                                                        "libpod-"};
  if (ends_with(elem, ".scope")) {
    std::string_view stem = elem.substr(0, elem.size() - 6);
    for (std::string_view p : kScopePrefixes) {
      if (starts_with(stem, p) && is_lower_hex64(stem.substr(p.size()))) {
        return stem.substr(p.size());
      }
    }
    return {};
  }
  // cgroupfs driver: /docker/<id>, /kubepods[/<qos>]/pod<uid>/<id>
  if (is_lower_hex64(elem) && (prev == "docker" || starts_with(prev, "pod"))) return elem;
  return {};
}

}  // namespace

Result<Stat> parse_stat(std::string_view text) {
  if (text.empty()) return make_error("stat: empty");
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return make_error("stat: field 2 (comm) not in parentheses");
  }
  Stat st;
  if (!to_number(trim(text.substr(0, open)), &st.pid)) {
    return field_error("stat", 1, "pid", "not a number");
  }
  st.comm.assign(text.substr(open + 1, close - open - 1));

  std::string_view rest = text.substr(close + 1);
  // Fields 3.. are space separated; index them by position.
  static constexpr int kLastNeeded = 24;
  std::string_view fields[kLastNeeded + 1];
  for (int i = 3; i <= kLastNeeded; ++i) {
    fields[i] = next_token(&rest);
    if (fields[i].empty()) {
      static const char* const kNames[] = {
          "",         "pid",     "comm",        "state",       "ppid",      "pgrp",
          "session",  "tty_nr",  "tpgid",       "flags",       "minflt",    "cminflt",
          "majflt",   "cmajflt", "utime",       "stime",       "cutime",    "cstime",
          "priority", "nice",    "num_threads", "itrealvalue", "starttime", "vsize",
          "rss"};
      return field_error("stat", i, kNames[i], "missing");
    }
  }
  if (fields[3].size() != 1) return field_error("stat", 3, "state", "not one character");
  st.state = fields[3][0];
  if (!to_number(fields[4], &st.ppid)) return field_error("stat", 4, "ppid", "not a number");
  if (!to_number(fields[9], &st.flags)) return field_error("stat", 9, "flags", "not a number");
  if (!to_number(fields[14], &st.utime)) return field_error("stat", 14, "utime", "not a number");
  if (!to_number(fields[15], &st.stime)) return field_error("stat", 15, "stime", "not a number");
  if (!to_number(fields[20], &st.num_threads)) {
    return field_error("stat", 20, "num_threads", "not a number");
  }
  if (!to_number(fields[22], &st.start_time)) {
    return field_error("stat", 22, "starttime", "not a number");
  }
  if (!to_number(fields[23], &st.vsize)) return field_error("stat", 23, "vsize", "not a number");
  if (!to_number(fields[24], &st.rss_pages)) return field_error("stat", 24, "rss", "not a number");
  // Optional tail: skip to fields 48 and 49; both or neither.
  int field = 24;
  while (field < 47 && !next_token(&rest).empty()) ++field;
  uint64_t arg_start = 0, arg_end = 0;
  if (field == 47 && to_number(next_token(&rest), &arg_start) &&
      to_number(next_token(&rest), &arg_end) && arg_end >= arg_start) {
    st.arg_start = arg_start, st.arg_end = arg_end;
  }
  return st;
}

Result<Status> parse_status(std::string_view text) {
  if (text.empty()) return make_error("status: empty");
  Status out;
  bool have_uid = false, have_gid = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (key == "Name") {
      // Only the separator tab goes; the name itself may start or end with spaces.
      if (!value.empty() && value.front() == '\t') value.remove_prefix(1);
      out.name.assign(value);
    } else if (key == "Tgid") {
      if (!to_number(trim(value), &out.tgid)) return make_error("status: Tgid not a number");
    } else if (key == "PPid") {
      if (!to_number(trim(value), &out.ppid)) return make_error("status: PPid not a number");
    } else if (key == "Uid" || key == "Gid") {
      uint32_t* ids = key == "Uid" ? out.uid : out.gid;
      for (int i = 0; i < 4; ++i) {
        if (!to_number(next_token(&value), &ids[i])) {
          return make_error("status: " + std::string(key) + " value " + std::to_string(i + 1) +
                            " of 4 missing or not a number");
        }
      }
      (key == "Uid" ? have_uid : have_gid) = true;
    } else if (key == "Threads") {
      if (!to_number(trim(value), &out.threads)) {
        return make_error("status: Threads not a number");
      }
    } else if (key == "VmRSS" || key == "VmSize") {
      std::string_view v = trim(value);
      if (ends_with(v, " kB")) v = trim(v.substr(0, v.size() - 3));
      uint64_t* dst = key == "VmRSS" ? &out.vm_rss_kb : &out.vm_size_kb;
      if (!to_number(v, dst)) return make_error("status: " + std::string(key) + " not a number");
    }
  }
  if (!have_uid) return make_error("status: Uid line missing");
  if (!have_gid) return make_error("status: Gid line missing");
  return out;
}

std::vector<std::string> parse_cmdline(std::string_view raw, size_t max_args, size_t max_bytes,
                                       bool* truncated) {
  std::vector<std::string> args;
  bool cut = false;
  if (!raw.empty()) {
    // One trailing NUL ends the last argument; "\0" alone is argv {""}.
    if (raw.back() == '\0') raw.remove_suffix(1);
    size_t bytes = 0;
    size_t pos = 0;
    while (true) {
      const size_t nul = raw.find('\0', pos);
      std::string_view arg =
          raw.substr(pos, nul == std::string_view::npos ? std::string_view::npos : nul - pos);
      if (args.size() >= max_args) {
        cut = true;
        break;
      }
      if (bytes + arg.size() > max_bytes) {
        const size_t room = max_bytes - bytes;
        if (room > 0) args.emplace_back(arg.substr(0, room));
        cut = true;
        break;
      }
      bytes += arg.size();
      args.emplace_back(arg);
      if (nul == std::string_view::npos) break;
      pos = nul + 1;
    }
  }
  if (truncated != nullptr) *truncated = cut;
  return args;
}

Result<std::string> parse_cgroup(std::string_view text) {
  std::string_view v2, systemd, first;
  bool have_v2 = false, have_systemd = false, have_first = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    // hierarchy-ID:controller-list:path; the path itself may contain ':'.
    const size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    const size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    uint32_t id = 0;
    if (!to_number(line.substr(0, c1), &id)) continue;
    const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    const std::string_view path = line.substr(c2 + 1);
    if (path.empty()) continue;
    if (!have_first) first = path, have_first = true;
    if (id == 0 && controllers.empty()) {
      if (!have_v2) v2 = path, have_v2 = true;
    } else if (!have_systemd) {
      std::string_view list = controllers;
      while (!list.empty()) {
        const size_t comma = list.find(',');
        if (list.substr(0, comma) == "name=systemd") {
          systemd = path, have_systemd = true;
          break;
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    }
  }
  if (have_v2) return std::string(v2);
  if (have_systemd) return std::string(systemd);
  if (have_first) return std::string(first);
  return make_error("cgroup: no valid \"id:controllers:path\" line");
}

std::string container_id_from_cgroup(std::string_view cgroup_path) {
  // Walk elements from the last one up: the id is usually last, but podman puts a
  // "/container" child below libpod-<id>.scope and systemd-in-container adds more.
  std::string_view path = cgroup_path;
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  while (!path.empty()) {
    const size_t slash = path.rfind('/');
    const std::string_view elem = slash == std::string_view::npos ? path : path.substr(slash + 1);
    std::string_view parent =
        slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
    const size_t pslash = parent.rfind('/');
    const std::string_view prev =
        pslash == std::string_view::npos ? parent : parent.substr(pslash + 1);
    std::string_view id = container_id_from_element(elem, prev);
    if (!id.empty()) return std::string(id);
    path = parent;
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  }
  return {};
}

std::string parse_attr_current(std::string_view text) {
  while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) text.remove_suffix(1);
  return std::string(text);
}

ExeLink parse_exe_link(std::string_view target) {
  static constexpr std::string_view kDeleted = " (deleted)";
  ExeLink out;
  if (ends_with(target, kDeleted)) {
    target.remove_suffix(kDeleted.size());
    out.deleted = true;
  }
  out.path.assign(target);
  return out;
}

}  // namespace procwatch::procfs
