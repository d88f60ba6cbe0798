// UserRegex: a regular expression written by someone else (config `args:` selectors, check
// --ereg-argument-array) and run over untrusted text (other users' argv). Compiled with RE2:
// matching is linear in the text, never backtracks; memory (kUserRegexMaxMem) and program size
// (kUserRegexMaxProgramSize instructions) are bounded when it is compiled, and what RE2 cannot
// do in linear time (backreferences, look-around) is refused with the reason, never run.
// Flavour: POSIX extended syntax as check_procs's regcomp(REG_EXTENDED|REG_NOSUB) reads it,
// with \d \s \w \b \B; it matches bytes ('.' and [^...] match any byte, '\n' included) and ^ $
// anchor the whole text. A NUL in the pattern is refused (regcomp would silently cut there).
// Immutable once compiled: search() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace re2 {
class RE2;
}

namespace procwatch {

// RE2's memory budget per pattern (the compiled program plus its DFA cache).
inline constexpr int64_t kUserRegexMaxMem = int64_t{8} << 20;
// Most RE2 instructions a pattern may compile to: with argv bounded to 4 KiB this bounds the
// worst-case (NFA) match to about 20M steps. `[a-z]{1,1000}` needs ~2,000; counted
// repetitions above 1000 are refused by RE2 itself.
inline constexpr int kUserRegexMaxProgramSize = 5000;

class UserRegex {
 public:
  // The error message is the reason only ("backreferences are not supported (\1)"); callers
  // add where the pattern came from.
  static Result<std::shared_ptr<const UserRegex>> compile(std::string_view pattern);
  ~UserRegex();
  UserRegex(const UserRegex&) = delete;
  UserRegex& operator=(const UserRegex&) = delete;

  // True when the pattern matches somewhere in text.
  bool search(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }
  int program_size() const;

 private:
  UserRegex() = default;
  std::unique_ptr<re2::RE2> re_;
  std::string pattern_;
};

}  // namespace procwatch
