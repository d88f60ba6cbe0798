#include "core/user_regex.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace procwatch {
namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t0) {
  return long(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

bool search(const std::string& pattern, const std::string& text) {
  auto re = UserRegex::compile(pattern);
  EXPECT_TRUE(re.ok()) << pattern << ": " << (re.ok() ? "" : re.error().message);
  return re.ok() && (*re)->search(text);
}

std::string error_of(const std::string& pattern) {
  auto re = UserRegex::compile(pattern);
  EXPECT_FALSE(re.ok()) << pattern;
  return re.ok() ? "" : re.error().message;
}

// check_procs --ereg-argument-array semantics: regcomp(REG_EXTENDED|REG_NOSUB), searched.
TEST(UserRegex, PosixExtendedSearch) {
  EXPECT_TRUE(search("^/usr/bin/python3 .*unattended", "/usr/bin/python3 /usr/bin/unattended-x"));
  EXPECT_FALSE(search("^python3", "/usr/bin/python3"));
  EXPECT_TRUE(search("sleep [0-9]+$", "/bin/sleep 600"));
  EXPECT_TRUE(search("(foo|bar)+baz", "xx foobarbaz"));
  EXPECT_TRUE(search("[[:digit:]]{3}", "a123"));
  EXPECT_FALSE(search("[[:digit:]]{3}", "a12b"));
  EXPECT_TRUE(search("a.b", "a\nb")) << "no REG_NEWLINE: '.' matches a newline";
  EXPECT_FALSE(search("^b", "a\nb")) << "no REG_NEWLINE: ^ is the start of the text only";
  EXPECT_TRUE(search("a.b", "a\xff" "b")) << "bytes, not UTF-8 characters";
  EXPECT_TRUE(search("\\bword\\b", "a word here"));
  EXPECT_TRUE(search("", "anything"));
}

TEST(UserRegex, RefusesWhatIsNotLinearOrTooBig) {
  EXPECT_EQ(error_of("(|)(\\1\\1)*"),
            "backreferences are not supported (\\1; patterns are matched in linear time)");
  EXPECT_EQ(error_of("(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1z"),
            "backreferences are not supported (\\5; patterns are matched in linear time)");
  EXPECT_EQ(error_of("((a{1,100}){1,100}){1,100}"),
            "repetition too large {1,100} (at most 1000 in all, nested counts multiply)");
  EXPECT_EQ(error_of("(x{1,32767}){1,32767}"),
            "repetition too large {1,32767} (at most 1000 in all, nested counts multiply)");
  EXPECT_EQ(error_of(std::string("ab\0(((", 6)), "the pattern contains a NUL character");
  EXPECT_EQ(error_of("(unclosed"), "missing ): (unclosed");
  // Within RE2's own limits but above the program bound.
  std::string big = error_of("[a-z]{1,1000}[0-9]{1,1000}[A-Z]{1,1000}");
  EXPECT_EQ(big.rfind("pattern too large (", 0), 0u) << big;
  EXPECT_NE(big.find("at most 5000"), std::string::npos) << big;
  auto ok = UserRegex::compile("[a-z]{1,1000}");
  ASSERT_TRUE(ok.ok());
  EXPECT_LE((*ok)->program_size(), kUserRegexMaxProgramSize);
}

// The hostile patterns of issue 13 each fail at once; a legal but DFA-hostile pattern runs in
// bounded time over a long argv.
TEST(UserRegex, BoundedTime) {
  for (const char* p : {"(|)(\\1\\1)*", "(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1z",
                        "((a{1,100}){1,100}){1,100}", "(x{1,32767}){1,32767}"}) {
    auto t0 = Clock::now();
    EXPECT_FALSE(UserRegex::compile(p).ok()) << p;
    EXPECT_LT(ms_since(t0), 100) << p;
  }
  auto re = UserRegex::compile("(a|b)*a(a|b){20}c|(.*)(.*)(.*)(.*)(.*)z");
  ASSERT_TRUE(re.ok()) << re.error().message;
  std::string text;
  for (int i = 0; i < 4096; ++i) text += "ab"[(i * 7 + i / 3) % 2];
  auto t0 = Clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_FALSE((*re)->search(text));
  EXPECT_LT(ms_since(t0), 2000);
}

}  // namespace
}  // namespace procwatch
