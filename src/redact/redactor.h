// Redactor: hides secrets in command lines before they leave procwatch (trace, tree, the events
// log). Each pattern is an RE2 regex (linear time on untrusted argv) run over the arguments
// joined by '\n'; the text of every capture group is replaced by "***" in the argument(s) it
// covers. Defaults cover password/token/secret/API-key options, mysql -pSECRET, user:pass@ in
// URLs, Authorization/X-Api-Key headers and PASSWORD=/TOKEN= assignments.
// Immutable once built: redact() may be called from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace procwatch::redact {

inline constexpr std::string_view kMask = "***";

class Redactor {
 public:
  // The shipped defaults, in the order they run.
  static const std::vector<std::string>& default_patterns();
  // Checks one user pattern: it must compile under the memory bound and have a capture group.
  static Result<bool> check_pattern(const std::string& pattern);
  // Defaults (when with_defaults) followed by extra; an error names the bad pattern.
  static Result<std::shared_ptr<const Redactor>> build(bool with_defaults,
                                                       const std::vector<std::string>& extra);
  // The process-wide redactor used by the output formatters: the defaults until set().
  static std::shared_ptr<const Redactor> current();
  static void set(std::shared_ptr<const Redactor> r);

  ~Redactor();
  // True when some argument changed; argv is rewritten in place.
  bool redact(std::vector<std::string>& argv) const;
  // The redacted copy, or nothing when no pattern matches (the common case: no copy made).
  std::optional<std::vector<std::string>> redacted(const std::vector<std::string>& argv) const;
  size_t size() const;

 private:
  struct Compiled;  // the RE2 objects (RE2 stays out of this header)
  Redactor();
  std::unique_ptr<Compiled> c_;
};

}  // namespace procwatch::redact
