#include "procfs/parsers.h"
#include "core/text.h"

#include <charconv>
#include <optional>
#include <vector>
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



// One cgroup path element and its neighbours, as the pattern table sees them.
struct Elem {
  std::string_view name;    // this element
  std::string_view parent;  // the element above it ("" at the top)
  std::string_view child;   // the element below it ("" for the last)
  std::string_view grandparent;
};

// kPod: the parent is a kubelet pod cgroup (pod<uid> under kubepods, or the systemd slice).
enum class Under { kAny, kExact, kPod };

enum class IdForm { kHex64, kName, kSystemdName, kNone };  // kNone: the element is exact

std::string pod_uid_from_element(std::string_view elem, std::string_view parent);

// One row of the table: an element shaped <prefix><id><suffix>, optionally only under a
// parent element equal to `parent` (kExact) or under a pod's cgroup (kPod).
struct Pattern {
  std::string_view prefix, suffix;
  IdForm form;
  Under under;
  std::string_view parent;
  std::string_view runtime;
  std::string_view kind;    // "container" or "runtime"
};

// Every layout procwatch recognises. The innermost matching element of a path wins, so a
// runtime's sub-groups under the container (podman's and crun's "/container", systemd inside
// the container) and nested containers are attributed to the innermost container.
constexpr Pattern kPatterns[] = {
    // docker, systemd cgroup driver: /system.slice/docker-<id>.scope (also kubelet + dockershim)
    {"docker-", ".scope", IdForm::kHex64, Under::kAny, "", "docker", "container"},
    // docker, cgroupfs driver (also rootless and docker-in-docker): /docker/<id>
    {"", "", IdForm::kHex64, Under::kExact, "docker", "docker", "container"},
    // moby/dockerd with cgroupfs under a custom parent used by docker-in-docker setups: /moby/<id>
    {"", "", IdForm::kHex64, Under::kExact, "moby", "docker", "container"},
    // containerd CRI plugin, systemd driver: .../kubepods-...-pod<uid>.slice/cri-containerd-<id>.scope
    {"cri-containerd-", ".scope", IdForm::kHex64, Under::kAny, "", "containerd", "container"},
    // containerd, cgroupfs driver, CRI namespace: /k8s.io/<id>
    {"", "", IdForm::kHex64, Under::kExact, "k8s.io", "containerd", "container"},
    // containerd through nerdctl, systemd driver: /system.slice/nerdctl-<id>.scope
    {"nerdctl-", ".scope", IdForm::kHex64, Under::kAny, "", "containerd", "container"},
    // CRI-O's monitor, conmon (systemd driver: crio-conmon-<id>.scope; cgroupfs: crio-conmon-<id>)
    {"crio-conmon-", ".scope", IdForm::kHex64, Under::kAny, "", "cri-o", "runtime"},
    {"crio-conmon-", "", IdForm::kHex64, Under::kPod, "", "cri-o", "runtime"},
    // CRI-O, systemd driver: .../crio-<id>.scope; cgroupfs driver: /kubepods/<qos>/pod<uid>/crio-<id>
    {"crio-", ".scope", IdForm::kHex64, Under::kAny, "", "cri-o", "container"},
    {"crio-", "", IdForm::kHex64, Under::kPod, "", "cri-o", "container"},
    // podman's monitor, conmon, systemd driver: /machine.slice/libpod-conmon-<id>.scope
    {"libpod-conmon-", ".scope", IdForm::kHex64, Under::kAny, "", "podman", "runtime"},
    // podman's conmon, cgroupfs driver: /libpod_parent/conmon (seen with podman 4.3 + runc);
    // which container it watches is not in the path
    {"conmon", "", IdForm::kNone, Under::kExact, "libpod_parent", "podman", "runtime"},
    // podman, systemd driver: /machine.slice/libpod-<id>.scope[/container]
    {"libpod-", ".scope", IdForm::kHex64, Under::kAny, "", "podman", "container"},
    // podman, cgroupfs driver: /libpod_parent/libpod-<id>[/container]; in a pod
    // /libpod_parent/<pod id>/libpod-<id>
    {"libpod-", "", IdForm::kHex64, Under::kAny, "", "podman", "container"},
    // kubelet, cgroupfs driver, any QoS class: /kubepods[/<qos>]/pod<uid>/<id> (containerd,
    // cri-dockerd; the runtime is not in the path)
    {"", "", IdForm::kHex64, Under::kPod, "", "cri", "container"},
    // The daemons and their shims under systemd: containerd (and every containerd-shim, runc
    // while it sets a container up), dockerd, CRI-O: the runtime, not a container
    {"containerd.service", "", IdForm::kNone, Under::kAny, "", "containerd", "runtime"},
    {"docker.service", "", IdForm::kNone, Under::kAny, "", "docker", "runtime"},
    {"crio.service", "", IdForm::kNone, Under::kAny, "", "cri-o", "runtime"},
    // LXC 4+ and LXD: /lxc.payload.<name>; the monitor: /lxc.monitor.<name>
    {"lxc.payload.", "", IdForm::kName, Under::kAny, "", "lxc", "container"},
    {"lxc.monitor.", "", IdForm::kName, Under::kAny, "", "lxc", "runtime"},
    // LXC before 4: /lxc/<name>
    {"", "", IdForm::kName, Under::kExact, "lxc", "lxc", "container"},
    // systemd-nspawn (machinectl): /machine.slice/machine-<name>.scope, name systemd-escaped
    {"machine-", ".scope", IdForm::kSystemdName, Under::kExact, "machine.slice", "systemd-nspawn",
     "container"},
};

bool is_hex_char(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// systemd unit-name unescaping (\xNN), enough for machine names.
std::string systemd_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && is_hex_char(s[i + 2]) &&
        is_hex_char(s[i + 3])) {
      auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
      out.push_back(char(nib(s[i + 2]) * 16 + nib(s[i + 3])));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '/') return false;
  }
  return true;
}

// The id `elem` carries under pattern `p`, or nullopt.
std::optional<std::string> match_pattern(const Pattern& p, const Elem& e) {
  if (p.under == Under::kExact && e.parent != p.parent) return std::nullopt;
  if (p.under == Under::kPod && pod_uid_from_element(e.parent, e.grandparent).empty()) {
    return std::nullopt;
  }
  if (!e.name.starts_with(p.prefix) || !e.name.ends_with(p.suffix)) return std::nullopt;
  if (e.name.size() < p.prefix.size() + p.suffix.size()) return std::nullopt;
  const std::string_view id =
      e.name.substr(p.prefix.size(), e.name.size() - p.prefix.size() - p.suffix.size());
  switch (p.form) {
    case IdForm::kHex64:
      if (!is_lower_hex64(id)) return std::nullopt;
      return std::string(id);
    case IdForm::kName:
      if (!valid_name(id)) return std::nullopt;
      return std::string(id);
    case IdForm::kNone:
      if (!id.empty()) return std::nullopt;
      return std::string();
    case IdForm::kSystemdName: {
      std::string name = systemd_unescape(id);
      // libvirt's machines are VMs (machine-qemu-N-name), not containers.
      if (!valid_name(name) || name.starts_with("qemu-")) return std::nullopt;
      return name;
    }
  }
  return std::nullopt;
}

// A kubelet pod cgroup: "pod<uid>" (cgroupfs) or "kubepods[-<qos>]-pod<uid_with_underscores>.slice"
// (systemd). Returns the UID with dashes, or "".
std::string pod_uid_from_element(std::string_view elem, std::string_view parent) {
  std::string_view uid;
  if (elem.starts_with("kubepods") && elem.ends_with(".slice")) {
    const size_t at = elem.rfind("-pod");
    if (at == std::string_view::npos) return {};
    uid = elem.substr(at + 4, elem.size() - at - 4 - 6);
  } else if (elem.starts_with("pod") && (parent.starts_with("kubepods") ||
                                          parent == "burstable" || parent == "besteffort")) {
    uid = elem.substr(3);
  } else {
    return {};
  }
  // A UUID (36 characters) or a static pod's 32-hex config hash.
  if (uid.size() != 36 && uid.size() != 32) return {};
  std::string out(uid);
  for (char& c : out) {
    if (c == '_') c = '-';
    if (!(is_hex_char(c) || c == '-')) return {};
  }
  return out;
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
  if (!to_number(fields[5], &st.pgrp)) return field_error("stat", 5, "pgrp", "not a number");
  if (!to_number(fields[6], &st.session)) {
    return field_error("stat", 6, "session", "not a number");
  }
  if (!to_number(fields[7], &st.tty_nr)) return field_error("stat", 7, "tty_nr", "not a number");
  if (!to_number(fields[8], &st.tpgid)) return field_error("stat", 8, "tpgid", "not a number");
  if (!to_number(fields[9], &st.flags)) return field_error("stat", 9, "flags", "not a number");
  if (!to_number(fields[14], &st.utime)) return field_error("stat", 14, "utime", "not a number");
  if (!to_number(fields[15], &st.stime)) return field_error("stat", 15, "stime", "not a number");
  if (!to_number(fields[19], &st.nice)) return field_error("stat", 19, "nice", "not a number");
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
      if (v.ends_with(" kB")) v = trim(v.substr(0, v.size() - 3));
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

ContainerRef container_from_cgroup(std::string_view cgroup_path) {
  // Split into elements (empty ones, from "//" or a trailing "/", are skipped).
  std::vector<std::string_view> elems;
  std::string_view rest = cgroup_path;
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    std::string_view e = rest.substr(0, slash);
    if (!e.empty()) elems.push_back(e);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  ContainerRef ref;
  for (size_t i = elems.size(); i-- > 0;) {
    const Elem e{elems[i], i > 0 ? elems[i - 1] : std::string_view{},
                 i + 1 < elems.size() ? elems[i + 1] : std::string_view{},
                 i > 1 ? elems[i - 2] : std::string_view{}};
    if (ref.kind.empty()) {
      for (const Pattern& p : kPatterns) {
        if (auto id = match_pattern(p, e)) {
          ref.id = std::move(*id);
          ref.runtime = std::string(p.runtime);
          ref.kind = std::string(p.kind);
          // systemd-nspawn runs its own supervisor in the scope's "supervisor" child.
          if (p.runtime == "systemd-nspawn" && e.child == "supervisor") ref.kind = "runtime";
          break;
        }
      }
      if (!ref.kind.empty()) continue;
    }
    if (ref.pod_uid.empty()) {
      std::string uid = pod_uid_from_element(e.name, e.parent);
      if (!uid.empty()) {
        ref.pod_uid = std::move(uid);
        break;  // a pod's cgroup is above its containers'
      }
    }
  }
  return ref;
}

std::string container_id_from_cgroup(std::string_view cgroup_path) {
  ContainerRef ref = container_from_cgroup(cgroup_path);
  return ref.kind == "container" ? std::move(ref.id) : std::string();
}

std::string parse_attr_current(std::string_view text) {
  while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) text.remove_suffix(1);
  return std::string(text);
}

ExeLink parse_exe_link(std::string_view target) {
  static constexpr std::string_view kDeleted = " (deleted)";
  ExeLink out;
  if (target.ends_with(kDeleted)) {
    target.remove_suffix(kDeleted.size());
    out.deleted = true;
  }
  out.path.assign(target);
  return out;
}

}  // namespace procwatch::procfs
