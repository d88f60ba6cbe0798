#include "core/text.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace procwatch {
namespace {

TEST(EscapeControl, ControlBytesAndUnsafeCodePoints) {
  EXPECT_EQ(escape_control("plain /usr/bin/x é ü 日本"), "plain /usr/bin/x é ü 日本");
  EXPECT_EQ(escape_control(std::string("a\nb\r\x1b[31m\x7f\0z", 12)),
            "a\\x0ab\\x0d\\x1b[31m\\x7f\\x00z");
  EXPECT_EQ(escape_control("x\u202ey"), "x\\xe2\\x80\\xaey");        // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(escape_control("\u2066\u2069"), "\\xe2\\x81\\xa6\\xe2\\x81\\xa9");  // isolates
  EXPECT_EQ(escape_control("\u2028"), "\\xe2\\x80\\xa8");          // LINE SEPARATOR
  EXPECT_EQ(escape_control("\u0085"), "\\xc2\\x85");                // NEXT LINE (C1)
  EXPECT_EQ(escape_control("\xff\xc3"), "\\xff\\xc3");              // not UTF-8
  EXPECT_EQ(escape_control("\xe2\x80"), "\\xe2\\x80");              // cut sequence
  EXPECT_EQ(escape_control("\xc0\xaf"), "\\xc0\\xaf");              // overlong '/'
  EXPECT_EQ(escape_control("back\\slash"), "back\\slash");
}

TEST(EscapeControl, RandomBytesGiveOneSafeLineAndEscapingTwiceChangesNothing) {
  std::mt19937 rng(13);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 40, '\0');
    for (auto& c : s) c = char(rng() % 4 == 0 ? "\xe2\x80\xae\n\x1b\xc2\x85"[rng() % 7] : rng());
    const std::string e = escape_control(s);
    for (unsigned char c : e) ASSERT_TRUE(c >= 0x20 && c != 0x7f) << e;
    for (const char* bad : {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066",
                            "\u2067", "\u2068", "\u2069", "\u2028", "\u2029", "\u0085"}) {
      ASSERT_EQ(e.find(bad), std::string::npos) << e;
    }
    ASSERT_EQ(escape_control(e), e);
  }
}

}  // namespace
}  // namespace procwatch
