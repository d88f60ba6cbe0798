#include "rules/rule.h"

#include "core/user_names.h"

#include <grp.h>
#include <pwd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace procwatch::rules {

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kOk: return "OK";
    case Status::kWarning: return "WARNING";
    case Status::kCritical: return "CRITICAL";
    case Status::kUnknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::string_view severity_name(Severity s) {
  return s == Severity::kWarning ? "warning" : "critical";
}

Status severity_status(Severity s) {
  return s == Severity::kWarning ? Status::kWarning : Status::kCritical;
}

bool NagiosRange::alerts(double value) const {
  bool inside;
  if (!start_infinite && !end_infinite) {
    inside = start <= value && value <= end;
  } else if (!start_infinite) {
    inside = start <= value;
  } else if (!end_infinite) {
    inside = value <= end;
  } else {
    inside = true;
  }
  return alert_inside ? inside : !inside;
}

namespace {

// A whole-string decimal number (no spaces, no trailing junk, finite).
bool parse_number(std::string_view s, double& out) {
  if (s.empty() || s.front() == ' ' || s.front() == '\t' || s.front() == '+') return false;
  std::string tmp(s);
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(tmp.c_str(), &end);
  if (errno != 0 || end != tmp.c_str() + tmp.size() || !std::isfinite(v)) return false;
  // strtod also reads "inf", "nan" and hex floats; a threshold is plain decimal.
  for (char c : tmp) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == 'e' ||
          c == 'E')) {
      return false;
    }
  }
  out = v;
  return true;
}

}  // namespace

Result<NagiosRange> parse_nagios_range(std::string_view text) {
  NagiosRange r;
  r.text = std::string(text);
  std::string_view s = text;
  auto bad = [&](std::string why) {
    return make_error("bad range '" + std::string(text) + "': " + why +
                      " (expected N, N:, ~:N, N:M or @N:M)");
  };
  if (!s.empty() && s.front() == '@') {
    r.alert_inside = true;
    s.remove_prefix(1);
  }
  if (s.empty()) return bad("empty");
  auto colon = s.find(':');
  if (colon == std::string_view::npos) {
    if (!parse_number(s, r.end)) return bad("'" + std::string(s) + "' is not a number");
    r.end_infinite = false;
  } else {
    std::string_view lo = s.substr(0, colon), hi = s.substr(colon + 1);
    if (hi.find(':') != std::string_view::npos) return bad("more than one ':'");
    if (lo.empty() && hi.empty()) return bad("no bound");
    if (lo == "~") {
      r.start_infinite = true;
    } else if (!lo.empty() && !parse_number(lo, r.start)) {
      return bad("'" + std::string(lo) + "' is not a number");
    }
    if (!hi.empty()) {
      if (!parse_number(hi, r.end)) return bad("'" + std::string(hi) + "' is not a number");
      r.end_infinite = false;
    }
    if (r.start_infinite && r.end_infinite) return bad("no bound");
  }
  if (!r.start_infinite && !r.end_infinite && r.start > r.end) {
    return bad("start is greater than end");
  }
  return r;
}

Result<NagiosRange> parse_nagios_range_lenient(std::string_view text) {
  NagiosRange r;
  r.text = std::string(text);
  std::string s(text);
  const char* p = s.c_str();
  if (*p == '@') {
    r.alert_inside = true;
    ++p;
  }
  const char* end_str = std::strchr(p, ':');
  if (end_str != nullptr) {
    if (*p == '~') {
      r.start_infinite = true;
    } else {
      r.start = std::strtod(p, nullptr);  // stops at ':'
    }
    ++end_str;
  } else {
    end_str = p;
  }
  if (*end_str != '\0') {
    r.end = std::strtod(end_str, nullptr);
    r.end_infinite = false;
  }
  if (r.start_infinite || r.end_infinite || r.start <= r.end) return r;
  return make_error("Range format incorrect");
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto bad = [&] {
    return make_error("bad duration '" + std::string(text) +
                      "' (expected a whole number with a unit: 500ms, 2s, 1m, 1h)");
  };
  size_t i = 0;
  uint64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    n = n * 10 + uint64_t(text[i] - '0');
    if (n > 1000ull * 1000 * 1000 * 1000) return bad();
    ++i;
  }
  if (i == 0) return bad();
  std::string_view unit = text.substr(i);
  uint64_t mult;
  if (unit == "ms") {
    mult = 1;
  } else if (unit == "s") {
    mult = 1000;
  } else if (unit == "m") {
    mult = 60 * 1000;
  } else if (unit == "h") {
    mult = 3600 * 1000;
  } else if (unit.empty() && n == 0) {
    mult = 1;
  } else {
    return bad();
  }
  return std::chrono::milliseconds(int64_t(n * mult));
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string_view selector_key(SelectorKind k) {
  switch (k) {
    case SelectorKind::kName: return "name";
    case SelectorKind::kExe: return "exe";
    case SelectorKind::kArgs: return "args";
    case SelectorKind::kUser: return "user";
    case SelectorKind::kUid: return "uid";
    case SelectorKind::kGroup: return "group";
    case SelectorKind::kGid: return "gid";
    case SelectorKind::kEuid: return "euid";
    case SelectorKind::kEgid: return "egid";
    case SelectorKind::kContext: return "context";
    case SelectorKind::kCgroup: return "cgroup";
    case SelectorKind::kContainer: return "container";
    case SelectorKind::kTree: return "tree";
    case SelectorKind::kParent: return "parent";
    case SelectorKind::kContainerName: return "container_name";
    case SelectorKind::kImage: return "image";
    case SelectorKind::kPod: return "pod";
    case SelectorKind::kNamespace: return "namespace";
    case SelectorKind::kCommBase: return "command";
    case SelectorKind::kArgsSubstring: return "argument";
    case SelectorKind::kPpid: return "ppid";
    case SelectorKind::kStateFlags: return "state";
    case SelectorKind::kMinVsz: return "vsz";
    case SelectorKind::kMinRss: return "rss";
    case SelectorKind::kMinPcpu: return "pcpu";
    case SelectorKind::kNotKernelThread: return "no-kthreads";
  }
  return "?";
}

namespace {

std::optional<uint32_t> sys_user_to_uid(const std::string& name) {
  passwd pw{};
  passwd* out = nullptr;
  char buf[4096];
  if (getpwnam_r(name.c_str(), &pw, buf, sizeof buf, &out) != 0 || out == nullptr) {
    return std::nullopt;
  }
  return out->pw_uid;
}

std::optional<uint32_t> sys_group_to_gid(const std::string& name) {
  group gr{};
  group* out = nullptr;
  char buf[8192];
  if (getgrnam_r(name.c_str(), &gr, buf, sizeof buf, &out) != 0 || out == nullptr) {
    return std::nullopt;
  }
  return out->gr_gid;
}

std::optional<std::string> sys_uid_to_user(uint32_t uid) {
  return UserNameCache::shared().find(uid);
}

}  // namespace

IdResolver system_id_resolver() {
  return IdResolver{&sys_user_to_uid, &sys_group_to_gid, &sys_uid_to_user};
}

}  // namespace procwatch::rules
