#include "export/event_format.h"

#include "core/raw_text.h"
#include "core/text.h"
#include "redact/redactor.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <tuple>
#include <type_traits>
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
  for (char c : escape_control(s)) {  // keep control bytes off the terminal
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

}  // namespace

std::string format_timestamp(uint64_t realtime_ns) {
  // Events come in bursts within the same second: format the date and time part once.
  thread_local time_t cached_secs = -1;
  thread_local char cached[32];
  const time_t secs = time_t(realtime_ns / 1000000000ull);
  if (secs != cached_secs) {
    tm t{};
    gmtime_r(&secs, &t);
    fmt::format_to_n(cached, sizeof cached - 1, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                     t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
    cached[19] = '\0';
    cached_secs = secs;
  }
  char out[32];
  std::memcpy(out, cached, 19);
  out[19] = '.';
  uint32_t us = uint32_t((realtime_ns % 1000000000ull) / 1000);
  for (int i = 25; i >= 20; --i, us /= 10) out[i] = char('0' + us % 10);
  out[26] = 'Z';
  return std::string(out, 27);
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

// The argv as it may leave procwatch: secrets masked by the process-wide redactor. `copy`
// holds the masked arguments when some were masked.
const std::vector<std::string>& shown_argv(const ProcInfo& p,
                                           std::optional<std::vector<std::string>>& copy) {
  copy = redact::Redactor::current()->redacted(p.argv);
  return copy ? *copy : p.argv;
}

void set_text(nlohmann::json& j, std::string_view key, std::string_view value) {
  j[std::string(key)] = std::string(value);
  if (!is_valid_utf8(value)) j[std::string(key).append(kRawSuffix)] = base64(value);
}

namespace {

// The container fields of events, tree nodes and tree --containers groups.
nlohmann::json container_json(const ProcInfo& p) {
  nlohmann::json j = nlohmann::json::object();
  set_text(j, "container_id", p.container_id);
  set_text(j, "container_name", p.container_name);
  set_text(j, "image", p.image);
  set_text(j, "runtime", p.container_runtime);
  set_text(j, "pod", p.pod);
  set_text(j, "pod_uid", p.pod_uid);
  set_text(j, "namespace", p.pod_namespace);
  return j;
}

}  // namespace

nlohmann::json proc_json(const ProcInfo& p) {
  using nlohmann::json;
  std::optional<std::vector<std::string>> masked;
  const std::vector<std::string>& argv = shown_argv(p, masked);
  json j = {
      {"pid", p.key.pid},
      {"ppid", p.ppid},
      {"start_time", p.key.start_time},
      {"argv", argv},
      {"uid", p.uid},
      {"euid", p.euid},
      {"gid", p.gid},
      {"egid", p.egid},
      {"threads", p.threads},
      {"incomplete", p.incomplete},
  };
  set_text(j, "comm", p.comm);
  set_text(j, "exe", p.exe);
  set_text(j, "user", p.user);
  set_text(j, "cgroup", p.cgroup);
  set_text(j, "context", p.context);
  set_text(j, "tree", p.tree);
  if (!std::all_of(argv.begin(), argv.end(), [](const auto& a) { return is_valid_utf8(a); })) {
    json raw = json::array();
    for (const auto& a : argv) raw.push_back(base64(a));
    j["argv_b64"] = std::move(raw);
  }
  if (p.exe_deleted) j["exe_deleted"] = true;
  if (p.argv_truncated) j["argv_truncated"] = true;
  j.update(container_json(p));
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
  if (r.resync) j["resync"] = true;
  if (r.expected) j["expected"] = *r.expected;
  return j;
}

namespace {

// JSON string per RFC 8259; invalid UTF-8 sequences become U+FFFD like
// nlohmann::json::error_handler_t::replace. False when something was replaced (the caller
// then adds the exact bytes in a *_b64 field).
bool append_json_string(std::string& out, std::string_view s) {
  bool exact = true;
  out += '"';
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Plain printable ASCII, nearly everything in paths and arguments: copy the run at once.
    size_t run = i;
    while (run < n) {
      const unsigned char b = static_cast<unsigned char>(s[run]);
      if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20) {
            fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
          } else {
            out += char(c);
          }
      }
      ++i;
      continue;
    }
    // One UTF-8 sequence. Like nlohmann's decoder, an invalid sequence becomes one U+FFFD
    // for its longest valid prefix, and the byte that broke it is read again.
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      exact = false;
      ++i;
      continue;
    }
    size_t k = 1;
    for (; k < len && i + k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      const unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
      if (cc < min || cc > max) break;
    }
    if (k == len) {
      out.append(s.data() + i, len);
    } else {
      out += "\xEF\xBF\xBD";
      exact = false;
    }
    i += k;
  }
  out += '"';
  return exact;
}

void append_key(std::string& out, const char* key) {
  out += ",\"";
  out += key;
  out += "\":";
}

template <class T>
void append_num(std::string& out, const char* key, T v) {
  append_key(out, key);
  if constexpr (std::is_integral_v<T>) {
    char buf[24];
    out.append(buf, size_t(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

// "key":"text" and, when the text is not UTF-8, "key_b64":"bytes": the sibling sorts right
// after its key (no other key starts with "<key>_" and sorts before "_b64").
void append_str(std::string& out, const char* key, std::string_view v) {
  append_key(out, key);
  if (append_json_string(out, v)) return;
  out += ",\"";
  out += key;
  out += kRawSuffix;
  out += "\":\"";
  append_base64(out, v);
  out += '"';
}

void append_bool(std::string& out, const char* key, bool v) {
  append_key(out, key);
  out += v ? "true" : "false";
}

}  // namespace

// Keys in nlohmann's order (std::map: sorted), so the bytes equal event_json(r).dump().
void append_event_json_line(std::string& out, const EventRecord& r) {
  const ProcInfo& p = r.proc;
  const bool is_exit = r.exit.has_value();
  out += "{\"argv\":[";
  if (r.event == "lost") {
    out.resize(out.size() - 9);  // lost records carry only ts, event, count and reason
    out += "{\"count\":";
    fmt::format_to(std::back_inserter(out), "{}", r.lost_count);
    append_str(out, "event", r.event);
    append_str(out, "reason", r.lost_reason);
    append_str(out, "ts", format_timestamp(r.ts_realtime_ns));
    out += "}\n";
    return;
  }
  std::optional<std::vector<std::string>> masked;
  const std::vector<std::string>& argv = shown_argv(p, masked);
  bool argv_exact = true;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i) out += ',';
    argv_exact &= append_json_string(out, argv[i]);
  }
  out += ']';
  if (!argv_exact) {
    out += ",\"argv_b64\":[";
    for (size_t i = 0; i < argv.size(); ++i) {
      out += i ? ",\"" : "\"";
      append_base64(out, argv[i]);
      out += '"';
    }
    out += ']';
  }
  if (p.argv_truncated) append_bool(out, "argv_truncated", true);
  append_str(out, "cgroup", p.cgroup);
  append_str(out, "comm", p.comm);
  append_str(out, "container_id", p.container_id);
  append_str(out, "container_name", p.container_name);
  append_str(out, "context", p.context);
  if (is_exit && r.exit->core_dumped) append_bool(out, "core_dumped", true);
  if (is_exit) {
    append_key(out, "duration_s");
    if (r.exit->duration_s >= 0) {
      // Shortest round-trip form, as nlohmann prints doubles.
      fmt::format_to(std::back_inserter(out), "{}", r.exit->duration_s);
      if (out.find_first_of(".eE", out.rfind(':')) == std::string::npos) out += ".0";
    } else {
      out += "null";
    }
  }
  append_num(out, "egid", p.egid);
  append_num(out, "euid", p.euid);
  append_str(out, "event", r.event);
  append_str(out, "exe", p.exe);
  if (p.exe_deleted) append_bool(out, "exe_deleted", true);
  if (is_exit) {
    append_key(out, "exit_code");
    if (r.exit->code_known && r.exit->signal == 0)
      fmt::format_to(std::back_inserter(out), "{}", r.exit->exit_code);
    else
      out += "null";
  }
  if (r.expected) append_bool(out, "expected", *r.expected);
  append_num(out, "gid", p.gid);
  append_str(out, "image", p.image);
  append_bool(out, "incomplete", p.incomplete);
  append_str(out, "namespace", p.pod_namespace);
  append_num(out, "pid", p.key.pid);
  append_str(out, "pod", p.pod);
  append_str(out, "pod_uid", p.pod_uid);
  append_num(out, "ppid", p.ppid);
  if (r.resync) append_bool(out, "resync", true);
  append_str(out, "runtime", p.container_runtime);
  if (is_exit) append_num(out, "signal", r.exit->signal);
  append_num(out, "start_time", p.key.start_time);
  append_num(out, "threads", p.threads);
  append_str(out, "tree", p.tree);
  append_str(out, "ts", format_timestamp(r.ts_realtime_ns));
  append_num(out, "uid", p.uid);
  append_str(out, "user", p.user);
  out += "}\n";
}

namespace {
// "[name] " (the short id when the name is unknown) for a process in a container, else "".
std::string container_label(const ProcInfo& p) {
  if (p.container_id.empty()) return {};
  const std::string& n = p.container_name.empty() ? p.container_id.substr(0, 12)
                                                  : p.container_name;
  return "[" + escape_control(n) + "] ";
}
}  // namespace

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
    what = escape_control(p.exe);
    if (p.exe_deleted) what += " (deleted)";
  } else {
    what = "[" + escape_control(p.comm) + "]";
  }
  std::string args;
  std::optional<std::vector<std::string>> masked;
  if (const auto& argv = shown_argv(p, masked); argv.size() > 1) {
    args = join_argv({argv.begin() + 1, argv.end()});
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
  if (r.resync) tail += fmt::format("  {}(found by a resync after a loss){}", c_dim, c_reset);
  if (r.expected == false) tail += fmt::format("  {}(unexpected){}", color ? kRed : "", c_reset);
  return fmt::format("{} {}{:<8}{} {:>7} {:>7} {:<9} {}{}{}{}{}{}{}\n", ts, c_ev, r.event, c_reset,
                     p.key.pid, p.ppid,
                     p.user.empty() ? std::to_string(p.uid) : escape_control(p.user),
                     container_label(p), indent, c_bold, what, c_reset,
                     args.empty() ? "" : " " + args, tail);
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
        std::string what = p->exe.empty() ? "[" + escape_control(p->comm) + "]"
                                          : escape_control(p->exe);
        if (p->exe_deleted) what += " (deleted)";
        std::optional<std::vector<std::string>> masked;
        const auto& argv = shown_argv(*p, masked);
        std::string args =
            argv.size() > 1 ? " " + join_argv({argv.begin() + 1, argv.end()}, 200) : "";
        std::string extra;
        if (!p->container_id.empty() && !p->container_name.empty())  // else the label is the id
          extra += " container=" + escape_control(p->container_id.substr(0, 12));
        if (!p->context.empty()) extra += " context=" + escape_control(p->context);
        if (p->threads > 1) extra += fmt::format(" threads={}", p->threads);
        if (p->incomplete) extra += " (incomplete)";
        out += fmt::format("{}{}{:>7} {:<9} {}{}{}{}{}{}{}{}\n", prefix, branch, p->key.pid,
                           p->user.empty() ? std::to_string(p->uid) : escape_control(p->user),
                           container_label(*p), c_bold, what,
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

namespace {

std::vector<std::vector<ProcInfo>> container_groups(const std::vector<ProcInfo>& procs) {
  std::map<std::string, size_t> index;  // container_id -> group
  std::vector<std::vector<ProcInfo>> groups(1);  // [0]: the host
  for (const ProcInfo& p : procs) {
    if (p.container_id.empty()) {
      groups[0].push_back(p);
      continue;
    }
    auto [it, fresh] = index.emplace(p.container_id, groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(p);
  }
  std::sort(groups.begin() + 1, groups.end(), [](const auto& a, const auto& b) {
    return std::tie(a[0].container_name, a[0].container_id) <
           std::tie(b[0].container_name, b[0].container_id);
  });
  if (groups[0].empty()) groups.erase(groups.begin());
  return groups;
}

}  // namespace

nlohmann::json containers_tree_json(const std::vector<ProcInfo>& procs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : container_groups(procs)) {
    const ProcInfo& p = g[0];
    nlohmann::json group = container_json(p);
    group["processes"] = tree_json(g);
    out.push_back(std::move(group));
  }
  return out;
}

std::string containers_tree_text(const std::vector<ProcInfo>& procs, bool color) {
  std::string out;
  const char* c_bold = color ? kBold : "";
  const char* c_reset = color ? kReset : "";
  for (const auto& g : container_groups(procs)) {
    const ProcInfo& p = g[0];
    if (!out.empty()) out += '\n';
    if (p.container_id.empty()) {
      out += fmt::format("{}host{}\n", c_bold, c_reset);
    } else {
      std::string detail = p.container_runtime;
      if (!p.pod.empty()) detail += ", pod " + p.pod_namespace + "/" + p.pod;
      if (!p.image.empty()) detail += ", image " + p.image;
      detail += ", id " + p.container_id.substr(0, 12);
      out += fmt::format("{}container {}{} ({})\n", c_bold,
                         escape_control(p.container_name.empty() ? p.container_id.substr(0, 12)
                                                                      : p.container_name),
                         c_reset, escape_control(detail));
    }
    out += tree_text(g, color);
  }
  return out;
}

}  // namespace procwatch::output
