#include "core/user_regex.h"

#include <re2/re2.h>

namespace procwatch {

namespace {

re2::RE2::Options options() {
  re2::RE2::Options o;
  o.set_max_mem(kUserRegexMaxMem);
  o.set_log_errors(false);
  o.set_encoding(re2::RE2::Options::EncodingLatin1);  // bytes, like regcomp in the C locale
  o.set_posix_syntax(true);
  o.set_longest_match(true);
  o.set_perl_classes(true);   // \d \s \w
  o.set_word_boundary(true);  // \b \B
  o.set_one_line(true);       // ^ $ at the ends of the text only (no REG_NEWLINE)
  o.set_dot_nl(true);         // '.' matches '\n' too (no REG_NEWLINE)
  o.set_never_capture(true);  // REG_NOSUB
  return o;
}

std::string reason(const re2::RE2& re) {
  const std::string& arg = re.error_arg();
  switch (re.error_code()) {
    case re2::RE2::ErrorBadEscape:
      if (arg.size() >= 2 && arg[0] == '\\' && arg[1] >= '1' && arg[1] <= '9') {
        return "backreferences are not supported (" + arg +
               "; patterns are matched in linear time)";
      }
      return "invalid escape sequence " + arg;
    case re2::RE2::ErrorRepeatSize:
      return "repetition too large " + arg + " (at most 1000 in all, nested counts multiply)";
    case re2::RE2::ErrorPatternTooLarge:
      return "pattern too large (needs more than " +
             std::to_string(kUserRegexMaxMem >> 20) + " MiB)";
    default: return re.error();
  }
}

}  // namespace

UserRegex::~UserRegex() = default;

Result<std::shared_ptr<const UserRegex>> UserRegex::compile(std::string_view pattern) {
  if (pattern.find('\0') != std::string_view::npos) {
    return make_error("the pattern contains a NUL character");
  }
  std::shared_ptr<UserRegex> r(new UserRegex());
  r->pattern_ = std::string(pattern);
  r->re_ = std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()),
                                      options());
  if (!r->re_->ok()) return make_error(reason(*r->re_));
  if (r->re_->ProgramSize() > kUserRegexMaxProgramSize) {
    return make_error("pattern too large (" + std::to_string(r->re_->ProgramSize()) +
                      " instructions, at most " + std::to_string(kUserRegexMaxProgramSize) +
                      ")");
  }
  return std::shared_ptr<const UserRegex>(std::move(r));
}

bool UserRegex::search(std::string_view text) const {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

int UserRegex::program_size() const { return re_->ProgramSize(); }

}  // namespace procwatch
