#include "core/raw_text.h"

#include <gtest/gtest.h>

namespace procwatch {
namespace {

TEST(IsValidUtf8, AcceptsRfc3629Only) {
  for (const char* ok : {"", "/usr/bin/true", "zo\xc3\xab", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                         "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_TRUE(is_valid_utf8(ok)) << ok;
  }
  for (const char* bad : {"/tmp/x\xff\xfe/", "\xc3", "a\xe2\x82", "\xc0\xaf" /* overlong */,
                          "\xed\xa0\x80" /* surrogate */, "\xf4\x90\x80\x80" /* > U+10FFFF */,
                          "\x80", "\xf8\x88\x80\x80\x80"}) {
    EXPECT_FALSE(is_valid_utf8(bad)) << bad;
  }
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(base64(in), want) << in;
  EXPECT_EQ(base64("/tmp/x\xff\xfe/"), "L3RtcC94//4v");
  EXPECT_EQ(base64(std::string("\0\xfb\xff", 3)), "APv/");
}

}  // namespace
}  // namespace procwatch
