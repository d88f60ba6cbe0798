#include "export/basic_auth.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <atomic>
#include <thread>
#include <vector>

namespace procwatch::auth {
namespace {

// htpasswd -nbBC 10 prometheus s3cret-pass
constexpr const char* kHash10 = "$2y$10$/ylqEOB8seHwk0cHHv04kO6DAlfPhp3EGguCtoF8krNT2GqVi8jnO";
// htpasswd -nbBC 4 alice wonderland
constexpr const char* kHash4 = "$2y$04$Rv3nDofmpxTrAX2vcm1m5.f6WWO.hYnZITKoXzJMj680jgV7gnKmq";

TEST(ConstantTimeEqual, Table) {
  struct Case {
    std::string a, b;
    bool want;
  } cases[] = {
      {"", "", true},         {"a", "a", true},         {"abc", "abc", true},
      {"abc", "abd", false},  {"abc", "ab", false},     {"ab", "abc", false},
      {"", "a", false},       {"a", "", false},         {std::string("a\0b", 3), "a", false},
      {std::string("a\0b", 3), std::string("a\0b", 3), true},
      {"\xff", "\x7f", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(constant_time_equal(c.a, c.b), c.want) << "'" << c.a << "' vs '" << c.b << "'";
}

TEST(IsBcryptHash, Table) {
  EXPECT_TRUE(is_bcrypt_hash(kHash10));
  EXPECT_TRUE(is_bcrypt_hash(kHash4));
  std::string h = kHash10;
  for (char v : {'a', 'b', 'y'}) {
    h[2] = v;
    EXPECT_TRUE(is_bcrypt_hash(h)) << h;
  }
  for (const std::string& bad : std::vector<std::string>{std::string(""), std::string("wonderland"),
                          std::string(kHash10).substr(0, 59), std::string(kHash10) + "x",
                          "$2x$" + std::string(kHash10).substr(4),
                          "$1$" + std::string(kHash10).substr(3),
                          "$2y$03$" + std::string(kHash10).substr(7),
                          "$2y$32$" + std::string(kHash10).substr(7),
                          "$2y$10$" + std::string(53, '*'),
                          "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="})
    EXPECT_FALSE(is_bcrypt_hash(bad)) << bad;
}

TEST(BcryptVerify, KnownHashes) {
  EXPECT_TRUE(bcrypt_verify("s3cret-pass", kHash10));
  EXPECT_FALSE(bcrypt_verify("s3cret-pas", kHash10));
  EXPECT_FALSE(bcrypt_verify("", kHash10));
  EXPECT_TRUE(bcrypt_verify("wonderland", kHash4));
  EXPECT_FALSE(bcrypt_verify("Wonderland", kHash4));
  EXPECT_FALSE(bcrypt_verify(std::string("wonderland\0x", 12), kHash4));
  EXPECT_FALSE(bcrypt_verify("wonderland", "$2y$04$short"));
  // $2a$ and $2b$ spell the same hash for an ASCII password.
  std::string b = kHash4;
  b[2] = 'b';
  EXPECT_TRUE(bcrypt_verify("wonderland", b));
}

TEST(BasicAuth, ChecksAndCaches) {
  BasicAuth a(std::map<std::string, std::string>{{"prometheus", kHash10}, {"alice", kHash4}});
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a.check("prometheus", "s3cret-pass"));
  const size_t after_first = a.bcrypt_runs();
  EXPECT_EQ(after_first, 1u);
  // The same right credentials again: a hash lookup, not bcrypt's ~50 ms.
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(a.check("prometheus", "s3cret-pass"));
  EXPECT_EQ(a.bcrypt_runs(), after_first);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  // Wrong passwords are never cached as right.
  EXPECT_FALSE(a.check("prometheus", "s3cret-pasS"));
  EXPECT_FALSE(a.check("prometheus", "s3cret-pasS"));
  EXPECT_EQ(a.bcrypt_runs(), after_first + 2);
  // Another user's password, an unknown user (checked against a dummy hash), empty values.
  EXPECT_FALSE(a.check("alice", "s3cret-pass"));
  EXPECT_TRUE(a.check("alice", "wonderland"));
  EXPECT_FALSE(a.check("bob", "wonderland"));
  EXPECT_FALSE(a.check("", ""));
  EXPECT_FALSE(a.check("Alice", "wonderland"));
  EXPECT_TRUE(BasicAuth(std::map<std::string, std::string>{}).empty());
}

TEST(BasicAuth, ThreadSafe) {
  BasicAuth a(std::map<std::string, std::string>{{"alice", kHash4}});
  std::vector<std::thread> ts;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 20; ++i) good += a.check("alice", i % 2 ? "wonderland" : "no") ? 1 : 0;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(good.load(), 40);
}

}  // namespace
}  // namespace procwatch::auth
