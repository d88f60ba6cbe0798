// Helpers for rules tests: a fixed id resolver and a ProcSample builder.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rules/rule.h"

namespace procwatch::rules::testing {

inline std::optional<uint32_t> fake_user(const std::string& n) {
  if (n == "root") return 0u;
  if (n == "alice") return 1000u;
  if (n == "bob") return 1001u;
  if (n == "postfix") return 107u;
  return std::nullopt;
}
inline std::optional<uint32_t> fake_group(const std::string& n) {
  if (n == "root") return 0u;
  if (n == "adm") return 4u;
  if (n == "alice") return 1000u;
  return std::nullopt;
}
inline std::optional<std::string> fake_uid_name(uint32_t id) {
  switch (id) {
    case 0: return "root";
    case 1000: return "alice";
    case 1001: return "bob";
    case 107: return "postfix";
  }
  return std::nullopt;
}
inline IdResolver fake_ids() { return IdResolver{&fake_user, &fake_group, &fake_uid_name}; }

// Fluent builder: proc(42, "sshd").exe("/usr/sbin/sshd").ids(0, 0).
struct Proc {
  ProcSample s;
  Proc(int32_t pid, std::string comm) {
    s.info.key.pid = pid;
    s.info.key.start_time = 1000 + uint64_t(pid);
    s.info.comm = std::move(comm);
    s.info.ids_known = true;
  }
  Proc& exe(std::string e) { s.info.exe = std::move(e); return *this; }
  Proc& argv(std::vector<std::string> a) { s.info.argv = std::move(a); return *this; }
  Proc& ids(uint32_t uid, uint32_t gid) {
    s.info.uid = s.info.euid = uid;
    s.info.gid = s.info.egid = gid;
    auto n = fake_uid_name(uid);
    s.info.user = n ? *n : "";
    return *this;
  }
  Proc& euid(uint32_t v) { s.info.euid = v; return *this; }
  Proc& egid(uint32_t v) { s.info.egid = v; return *this; }
  Proc& unknown_ids() { s.info.ids_known = false; s.info.user.clear(); return *this; }
  Proc& user(std::string u) { s.info.user = std::move(u); return *this; }
  Proc& ppid(int32_t p) { s.info.ppid = p; return *this; }
  Proc& parent(std::string p) { s.parent_name = std::move(p); return *this; }
  Proc& context(std::string c) { s.info.context = std::move(c); return *this; }
  Proc& cgroup(std::string c) { s.info.cgroup = std::move(c); return *this; }
  Proc& container(std::string c) { s.info.container_id = std::move(c); return *this; }
  Proc& names(std::string name, std::string image, std::string pod = "", std::string ns = "") {
    s.info.container_name = std::move(name);
    s.info.image = std::move(image);
    s.info.pod = std::move(pod);
    s.info.pod_namespace = std::move(ns);
    return *this;
  }
  Proc& tree(std::string t) { s.info.tree = std::move(t); return *this; }
  Proc& state(char c, std::string ps_stat = "") { s.state = c; s.ps_stat = std::move(ps_stat); return *this; }
  Proc& mem(uint64_t vsz, uint64_t rss) { s.vsz_kb = vsz; s.rss_kb = rss; return *this; }
  Proc& cpu(double window, double lifetime, double elapsed) {
    s.cpu_percent = window;
    s.lifetime_cpu_percent = lifetime;
    s.elapsed_s = elapsed;
    return *this;
  }
  operator ProcSample() const { return s; }  // NOLINT(google-explicit-constructor)
};

}  // namespace procwatch::rules::testing
