#include "redact/redactor.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <utility>

#include "core/user_regex.h"

namespace procwatch::redact {

namespace {

// Regex memory per pattern: a user pattern that needs more is refused at load, never slow.
constexpr int64_t kMaxMem = kUserRegexMaxMem;
// Matches taken per pattern and command line: bounds the work a crafted argv can cause (each
// search is linear; resuming inside a match could otherwise repeat long scans).
constexpr int kMaxMatches = 64;

// Option names whose value (after '=' or as the next argument) is a secret.
constexpr const char* kSecretOption =
    "(?:password|passwd|pass(?:in|out|phrase)?|token|secret|api[-_]?key|access[-_]?key|"
    "client[-_]?secret)";

re2::RE2::Options options() {
  re2::RE2::Options o;
  o.set_max_mem(kMaxMem);
  o.set_log_errors(false);
  o.set_case_sensitive(false);
  return o;
}

std::vector<std::string> make_defaults() {
  const std::string opt = kSecretOption;
  return {
      // --password=SECRET, -token=SECRET
      "(?m)^--?" + opt + "=([^\\n]+)",
      // --password SECRET (the next argument)
      "(?m)^--?" + opt + "\\n([^\\n]+)",
      // mysql/mariadb clients: -pSECRET
      "^(?:[^\\n]*/)?(?:mysql|mariadb)[\\w-]*\\n(?:[^\\n]*\\n)*?-p([^\\n]+)",
      // scheme://user:SECRET@host
      "\\b[a-z][a-z0-9+.-]*://[^\\s/:@]*:([^\\s/@]+)@",
      // curl -H 'Authorization: Bearer SECRET', 'X-Api-Key: SECRET'
      "\\bauthorization:\\s*(?:(?:bearer|basic|token|digest|negotiate)\\s+)?(\\S+)",
      "\\bx-api-key:\\s*(\\S+)",
      // PASSWORD=SECRET, DB_PASSWORD=..., GITHUB_TOKEN=..., ?token=... in a URL
      "(?:^|[\\s;&|?'\"(])(?:\\w*_)?(?:password|passwd|pass|token|secret|api_?key|access_?key)"
      "(?:_\\w*)?=([^\\s;&'\"]+)",
  };
}

std::atomic<std::shared_ptr<const Redactor>>& current_slot() {
  static std::atomic<std::shared_ptr<const Redactor>> slot;
  return slot;
}

}  // namespace

struct Redactor::Compiled {
  std::vector<std::unique_ptr<re2::RE2>> patterns;
  // One pass to learn which patterns can match at all (usually none).
  re2::RE2::Set any{options(), re2::RE2::UNANCHORED};
};

Redactor::Redactor() : c_(std::make_unique<Compiled>()) {}
Redactor::~Redactor() = default;
size_t Redactor::size() const { return c_->patterns.size(); }

const std::vector<std::string>& Redactor::default_patterns() {
  static const std::vector<std::string> p = make_defaults();
  return p;
}

Result<bool> Redactor::check_pattern(const std::string& pattern) {
  if (pattern.find('\0') != std::string::npos)
    return make_error("bad redact pattern: it contains a NUL character");
  re2::RE2 re(pattern, options());
  if (!re.ok()) return make_error("bad redact pattern: " + re.error());
  if (re.ProgramSize() > kUserRegexMaxProgramSize) {
    return make_error("bad redact pattern: too large (" + std::to_string(re.ProgramSize()) +
                      " instructions, at most " + std::to_string(kUserRegexMaxProgramSize) + ")");
  }
  if (re.NumberOfCapturingGroups() < 1)
    return make_error("redact pattern has no capture group (put the secret in ( ))");
  return true;
}

Result<std::shared_ptr<const Redactor>> Redactor::build(bool with_defaults,
                                                        const std::vector<std::string>& extra) {
  std::vector<std::string> all;
  if (with_defaults) all = default_patterns();
  all.insert(all.end(), extra.begin(), extra.end());
  std::shared_ptr<Redactor> r(new Redactor());
  for (const auto& p : all) {
    if (auto ok = check_pattern(p); !ok) return ok.error();
    r->c_->patterns.push_back(std::make_unique<re2::RE2>(p, options()));
    std::string err;
    if (r->c_->any.Add(p, &err) < 0) return make_error("bad redact pattern: " + err);
  }
  if (!all.empty() && !r->c_->any.Compile()) return make_error("redact patterns: out of memory");
  return std::shared_ptr<const Redactor>(std::move(r));
}

std::shared_ptr<const Redactor> Redactor::current() {
  auto r = current_slot().load();
  if (r) return r;
  static const std::shared_ptr<const Redactor> defaults = *build(true, {});
  return defaults;
}

void Redactor::set(std::shared_ptr<const Redactor> r) { current_slot().store(std::move(r)); }

std::optional<std::vector<std::string>> Redactor::redacted(
    const std::vector<std::string>& argv) const {
  if (c_->patterns.empty() || argv.empty()) return std::nullopt;
  thread_local std::string joined;  // reused: no allocation per exec once warm
  joined.clear();
  for (const auto& a : argv) {
    joined += a;
    joined += '\n';
  }
  joined.pop_back();
  std::vector<int> hits;
  if (!c_->any.Match(joined, &hits) || hits.empty()) return std::nullopt;
  std::vector<std::string> copy = argv;
  if (!redact(copy)) return std::nullopt;
  return copy;
}

bool Redactor::redact(std::vector<std::string>& argv) const {
  if (c_->patterns.empty() || argv.empty()) return false;
  std::string joined;
  std::vector<size_t> starts;  // offset of each argument in joined
  starts.reserve(argv.size());
  for (const auto& a : argv) {
    if (!starts.empty()) joined += '\n';
    starts.push_back(joined.size());
    joined += a;
  }
  std::vector<int> hits;
  if (!c_->any.Match(joined, &hits) || hits.empty()) return false;

  std::vector<std::pair<size_t, size_t>> ranges;  // [begin, end) in joined
  re2::StringPiece groups[8];
  for (int idx : hits) {
    const re2::RE2& re = *c_->patterns[size_t(idx)];
    const int n = std::min(re.NumberOfCapturingGroups() + 1, 8);
    size_t pos = 0;
    for (int found = 0; found < kMaxMatches && pos <= joined.size() &&
                        re.Match(joined, pos, joined.size(), re2::RE2::UNANCHORED, groups, n);
         ++found) {
      const size_t start = size_t(groups[0].data() - joined.data());
      size_t next = start + groups[0].size();
      for (int g = 1; g < n; ++g) {
        if (groups[g].data() == nullptr || groups[g].empty()) continue;
        const size_t b = size_t(groups[g].data() - joined.data());
        ranges.emplace_back(b, b + groups[g].size());
        next = std::min(next, b);
      }
      // Go on from the secret, not after it: a secret may itself start the next match
      // ("--pass --pass x"). Always forward.
      pos = std::max(next, start + 1);
    }
  }
  if (ranges.empty()) return false;
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<size_t, size_t>> merged;  // overlapping or touching ranges as one
  for (const auto& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, r.second);
    else
      merged.push_back(r);
  }
  // Each argument keeps its text outside the ranges; each covered part becomes one mask.
  bool changed = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const size_t a0 = starts[i], a1 = a0 + argv[i].size();
    std::string out;
    size_t at = a0;
    bool touched = false;
    for (const auto& [b, e] : merged) {
      const size_t rb = std::max(b, a0), re_end = std::min(e, a1);
      if (rb >= re_end) continue;
      out.append(joined, at, rb - at);
      out += kMask;
      at = re_end;
      touched = true;
    }
    if (!touched) continue;
    out.append(joined, at, a1 - at);
    argv[i] = std::move(out);
    changed = true;
  }
  return changed;
}

}  // namespace procwatch::redact
