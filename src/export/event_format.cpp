#include "export/event_format.h"

#include <algorithm>
#include <ctime>
#include <functional>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

namespace procwatch::output {

namespace {

constexpr const char* kReset = "\033[0m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kBold = "\033[1m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kGreen = "\033[32m";
constexpr const char* kYellow = "\033[33m";
constexpr const char* kCyan = "\033[36m";

const char* event_color(const std::string& ev) {
  if (ev == "exec") return kGreen;
  if (ev == "exit") return kDim;
  if (ev == "lost" || ev == "coredump") return kRed;
  if (ev == "uid" || ev == "gid" || ev == "ptrace") return kYellow;
  return kCyan;
}

bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  return std::any_of(s.begin(), s.end(), [](unsigned char c) {
    return c <= ' ' || c == '"' || c == '\'' || c == '\\' || c == '$' || c == '`' || c >= 0x7f;
  });
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (unsigned char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c < ' ' || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);  // keep control bytes off the terminal
    } else {
      out += char(c);
    }
  }
  return out + "'";
}

}  // namespace

std::string format_timestamp(uint64_t realtime_ns) {
  time_t secs = time_t(realtime_ns / 1000000000ull);
  tm t{};
  gmtime_r(&secs, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", t.tm_year + 1900,
                     t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                     (realtime_ns % 1000000000ull) / 1000);
}

std::string join_argv(const std::vector<std::string>& argv, size_t max_len) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += needs_quotes(a) ? quote(a) : a;
    if (out.size() > max_len) {
      out.resize(max_len);
      out += "...";
      break;
    }
  }
  return out;
}

nlohmann::json proc_json(const ProcInfo& p) {
  using nlohmann::json;
  json j = {
      {"pid", p.key.pid},
      {"ppid", p.ppid},
      {"start_time", p.key.start_time},
      {"comm", p.comm},
      {"exe", p.exe},
      {"argv", p.argv},
      {"uid", p.uid},
      {"euid", p.euid},
      {"gid", p.gid},
      {"egid", p.egid},
      {"user", p.user},
      {"cgroup", p.cgroup},
      {"container_id", p.container_id},
      {"context", p.context},
      {"threads", p.threads},
      {"tree", p.tree},
      {"incomplete", p.incomplete},
  };
  if (p.exe_deleted) j["exe_deleted"] = true;
  if (p.argv_truncated) j["argv_truncated"] = true;
  return j;
}

nlohmann::json event_json(const EventRecord& r) {
  nlohmann::json j = {{"ts", format_timestamp(r.ts_realtime_ns)}, {"event", r.event}};
  if (r.event == "lost") {
    j["count"] = r.lost_count;
    j["reason"] = r.lost_reason;
    return j;
  }
  j.update(proc_json(r.proc));
  if (r.exit) {
    const auto& e = *r.exit;
    j["exit_code"] = e.code_known && e.signal == 0 ? nlohmann::json(e.exit_code) : nullptr;
    j["signal"] = e.signal;
    if (e.core_dumped) j["core_dumped"] = true;
    j["duration_s"] = e.duration_s >= 0 ? nlohmann::json(e.duration_s) : nullptr;
  }
  return j;
}

std::string event_text(const EventRecord& r, bool color) {
  const std::string ts = format_timestamp(r.ts_realtime_ns).substr(11, 15);  // HH:MM:SS.ffffff
  const char* c_ev = color ? event_color(r.event) : "";
  const char* c_dim = color ? kDim : "";
  const char* c_bold = color ? kBold : "";
  const char* c_reset = color ? kReset : "";
  if (r.event == "lost") {
    return fmt::format("{} {}{:<8}{} {} events lost ({}); table resynchronised from /proc\n", ts,
                       c_ev, r.event, c_reset, r.lost_count, r.lost_reason);
  }
  const ProcInfo& p = r.proc;
  std::string indent(size_t(std::min(r.depth, 24)) * 2, ' ');
  std::string what;
  if (!p.exe.empty()) {
    what = p.exe;
    if (p.exe_deleted) what += " (deleted)";
  } else {
    what = "[" + p.comm + "]";
  }
  std::string args;
  if (p.argv.size() > 1) {
    args = join_argv({p.argv.begin() + 1, p.argv.end()});
    if (p.argv_truncated) args += " ...";
  }
  std::string tail;
  if (r.exit) {
    const auto& e = *r.exit;
    if (e.signal != 0) {
      tail = fmt::format("  {}signal {}{}{}", color ? kRed : "", e.signal,
                         e.core_dumped ? " (core dumped)" : "", c_reset);
    } else if (!e.code_known) {
      tail = "  exit ?";
    } else {
      tail = fmt::format("  {}exit {}{}", e.exit_code != 0 && color ? kRed : "", e.exit_code,
                         c_reset);
    }
    if (e.duration_s >= 0) tail += fmt::format(" after {:.3f}s", e.duration_s);
  }
  if (p.incomplete) tail += fmt::format("  {}(incomplete){}", c_dim, c_reset);
  return fmt::format("{} {}{:<8}{} {:>7} {:>7} {:<9} {}{}{}{}{}{}\n", ts, c_ev, r.event, c_reset,
                     p.key.pid, p.ppid, p.user.empty() ? std::to_string(p.uid) : p.user, indent,
                     c_bold, what, c_reset, args.empty() ? "" : " " + args, tail);
}

namespace {

// Children by parent pid; roots are processes whose parent is not in the set.
struct Forest {
  std::vector<const ProcInfo*> roots;
  std::unordered_map<int32_t, std::vector<const ProcInfo*>> children;
};

Forest build_forest(const std::vector<ProcInfo>& procs) {
  Forest f;
  std::unordered_set<int32_t> pids;
  for (const auto& p : procs) pids.insert(p.key.pid);
  for (const auto& p : procs) {
    if (p.ppid != p.key.pid && pids.count(p.ppid))
      f.children[p.ppid].push_back(&p);
    else
      f.roots.push_back(&p);
  }
  auto by_pid = [](const ProcInfo* a, const ProcInfo* b) { return a->key.pid < b->key.pid; };
  std::sort(f.roots.begin(), f.roots.end(), by_pid);
  for (auto& [_, v] : f.children) std::sort(v.begin(), v.end(), by_pid);
  return f;
}

}  // namespace

nlohmann::json tree_json(const std::vector<ProcInfo>& procs) {
  Forest f = build_forest(procs);
  std::unordered_set<int32_t> seen;  // guards against a parent cycle in corrupt input
  std::function<nlohmann::json(const ProcInfo*)> node = [&](const ProcInfo* p) {
    nlohmann::json j = proc_json(*p);
    j["children"] = nlohmann::json::array();
    if (seen.insert(p->key.pid).second) {
      auto it = f.children.find(p->key.pid);
      if (it != f.children.end())
        for (const ProcInfo* c : it->second) j["children"].push_back(node(c));
    }
    return j;
  };
  nlohmann::json out = nlohmann::json::array();
  for (const ProcInfo* r : f.roots) out.push_back(node(r));
  return out;
}

std::string tree_text(const std::vector<ProcInfo>& procs, bool color) {
  Forest f = build_forest(procs);
  std::string out;
  std::unordered_set<int32_t> seen;
  const char* c_bold = color ? kBold : "";
  const char* c_dim = color ? kDim : "";
  const char* c_reset = color ? kReset : "";
  std::function<void(const ProcInfo*, const std::string&, bool, bool)> walk =
      [&](const ProcInfo* p, const std::string& prefix, bool last, bool root) {
        std::string branch = root ? "" : (last ? "└─ " : "├─ ");
        std::string what = p->exe.empty() ? "[" + p->comm + "]" : p->exe;
        if (p->exe_deleted) what += " (deleted)";
        std::string args =
            p->argv.size() > 1 ? " " + join_argv({p->argv.begin() + 1, p->argv.end()}, 200) : "";
        std::string extra;
        if (!p->container_id.empty()) extra += " container=" + p->container_id.substr(0, 12);
        if (!p->context.empty()) extra += " context=" + p->context;
        if (p->threads > 1) extra += fmt::format(" threads={}", p->threads);
        if (p->incomplete) extra += " (incomplete)";
        out += fmt::format("{}{}{:>7} {:<9} {}{}{}{}{}{}{}\n", prefix, branch, p->key.pid,
                           p->user.empty() ? std::to_string(p->uid) : p->user, c_bold, what,
                           c_reset, args, c_dim, extra, c_reset);
        if (!seen.insert(p->key.pid).second) return;
        auto it = f.children.find(p->key.pid);
        if (it == f.children.end()) return;
        std::string child_prefix = root ? "" : prefix + (last ? "   " : "│  ");
        for (size_t i = 0; i < it->second.size(); ++i)
          walk(it->second[i], child_prefix, i + 1 == it->second.size(), false);
      };
  for (const ProcInfo* r : f.roots) walk(r, "", true, true);
  return out;
}

}  // namespace procwatch::output
