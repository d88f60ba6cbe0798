#include "redact/redactor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace procwatch::redact {
namespace {

using Argv = std::vector<std::string>;

Argv redacted(Argv argv) {
  Redactor::current()->redact(argv);
  return argv;
}

struct Case {
  Argv in, out;
};

TEST(Redactor, DefaultsHideTheSecretAndKeepTheRest) {
  const std::vector<Case> cases = {
      {{"app", "--password=hunter2", "-v"}, {"app", "--password=***", "-v"}},
      {{"app", "--password", "hunter2", "-v"}, {"app", "--password", "***", "-v"}},
      {{"app", "--passwd=a b c"}, {"app", "--passwd=***"}},
      {{"app", "--pass", "x"}, {"app", "--pass", "***"}},
      {{"app", "--token=t0k"}, {"app", "--token=***"}},
      {{"app", "--TOKEN", "t0k"}, {"app", "--TOKEN", "***"}},
      {{"app", "--secret", "s"}, {"app", "--secret", "***"}},
      {{"app", "--api-key=k"}, {"app", "--api-key=***"}},
      {{"app", "--apikey", "k"}, {"app", "--apikey", "***"}},
      {{"app", "--access-key=k"}, {"app", "--access-key=***"}},
      {{"app", "--client-secret", "c"}, {"app", "--client-secret", "***"}},
      {{"openssl", "enc", "-pass", "pass:x"}, {"openssl", "enc", "-pass", "***"}},
      {{"mysql", "-u", "root", "-phunter2", "db"}, {"mysql", "-u", "root", "-p***", "db"}},
      {{"/usr/bin/mysqldump", "-pX", "db"}, {"/usr/bin/mysqldump", "-p***", "db"}},
      {{"mkdir", "-pv", "dir"}, {"mkdir", "-pv", "dir"}},
      {{"ssh", "-p2222", "host"}, {"ssh", "-p2222", "host"}},
      {{"git", "clone", "https://bob:s3cret@example.com/r.git"},
       {"git", "clone", "https://bob:***@example.com/r.git"}},
      {{"psql", "postgres://app:pw@db:5432/x"}, {"psql", "postgres://app:***@db:5432/x"}},
      {{"curl", "https://example.com/"}, {"curl", "https://example.com/"}},
      {{"curl", "-H", "Authorization: Bearer abc.def", "u"},
       {"curl", "-H", "Authorization: Bearer ***", "u"}},
      {{"wget", "--header=authorization: Basic Zm9vOmJhcg=="},
       {"wget", "--header=authorization: Basic ***"}},
      {{"curl", "-H", "X-Api-Key: k123", "u"}, {"curl", "-H", "X-Api-Key: ***", "u"}},
      {{"env", "PASSWORD=p", "run"}, {"env", "PASSWORD=***", "run"}},
      {{"env", "DB_PASSWORD=p", "GITHUB_TOKEN=t", "x"}, {"env", "DB_PASSWORD=***", "GITHUB_TOKEN=***", "x"}},
      {{"sh", "-c", "AWS_SECRET_ACCESS_KEY=abc ./deploy"}, {"sh", "-c", "AWS_SECRET_ACCESS_KEY=*** ./deploy"}},
      {{"curl", "https://x/api?user=a&token=tt&z=1"}, {"curl", "https://x/api?user=a&token=***&z=1"}},
      {{"ls", "-l", "/tmp"}, {"ls", "-l", "/tmp"}},
      {{}, {}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(redacted(c.in), c.out) << ::testing::PrintToString(c.in);
  }
}

TEST(Redactor, SecretLeftNowhereInTheArgs) {
  Argv a = {"app", "--password", "--password", "x", "--token=--token"};
  Redactor::current()->redact(a);
  for (const auto& s : a) EXPECT_EQ(s.find('x'), std::string::npos) << s;
}

TEST(Redactor, UserPatternsAddOrReplaceTheDefaults) {
  auto r = Redactor::build(true, {"--db-key[= ]?(\\S+)"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  Argv a = {"app", "--db-key=abc", "--password=x"};
  EXPECT_TRUE((*r)->redact(a));
  EXPECT_EQ(a, (Argv{"app", "--db-key=***", "--password=***"}));

  auto only = Redactor::build(false, {"--db-key=(\\S+)"});
  ASSERT_TRUE(only.ok());
  Argv b = {"app", "--db-key=abc", "--password=x"};
  (*only)->redact(b);
  EXPECT_EQ(b, (Argv{"app", "--db-key=***", "--password=x"}));

  auto none = Redactor::build(false, {});
  ASSERT_TRUE(none.ok());
  Argv c = {"app", "--password=x"};
  EXPECT_FALSE((*none)->redact(c));
}

TEST(Redactor, ARangeOverTwoArgumentsMasksBoth) {
  auto r = Redactor::build(false, {"--pair\\s+(\\S+\\s+\\S+)"});
  ASSERT_TRUE(r.ok());
  Argv a = {"app", "--pair", "one", "two", "three"};
  (*r)->redact(a);
  EXPECT_EQ(a, (Argv{"app", "--pair", "***", "***", "three"}));
}

TEST(Redactor, BadPatternsAreRefusedWithAReason) {
  EXPECT_FALSE(Redactor::check_pattern("(unclosed").ok());
  auto no_group = Redactor::check_pattern("--password=\\S+");
  ASSERT_FALSE(no_group.ok());
  EXPECT_NE(no_group.error().message.find("capture group"), std::string::npos);
  auto backref = Redactor::check_pattern("(a)\\1");
  EXPECT_FALSE(backref.ok()) << "RE2 has no backreferences";
  auto huge = Redactor::check_pattern("((a{1,100}){1,100}){1,100}(x)");
  EXPECT_FALSE(huge.ok()) << "over the memory bound";
}

TEST(Redactor, LongHostileArgvStaysFast) {
  // A pattern that backtracks exponentially in a backtracking engine is linear in RE2.
  auto r = Redactor::build(true, {"(a*)*b", "(.*)(.*)(.*)(.*)(.*)z"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  Argv a = {"app", std::string(100000, 'a'), std::string(100000, '-')};
  const auto t0 = std::chrono::steady_clock::now();
  (*r)->redact(a);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 5000) << "linear-time matching";

  // Matches that start inside earlier ones: the work per pattern is bounded.
  std::string repeats;
  while (repeats.size() < 128 * 1024) repeats += "x-api-key:";
  Argv b = {"curl", "-H", repeats};
  const auto t1 = std::chrono::steady_clock::now();
  Redactor::current()->redact(b);
  const auto ms2 = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - t1).count();
  EXPECT_LT(ms2, 5000);
  EXPECT_EQ(b[2].substr(0, 13), "x-api-key:***");
}

TEST(Redactor, RedactedCopiesOnlyWhenNeeded) {
  EXPECT_FALSE(Redactor::current()->redacted({"ls", "-l"}).has_value());
  auto r = Redactor::current()->redacted({"app", "--token", "t"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (Argv{"app", "--token", "***"}));
}

TEST(Redactor, SetReplacesTheProcessWideRedactor) {
  auto none = Redactor::build(false, {});
  ASSERT_TRUE(none.ok());
  Redactor::set(*none);
  Argv a = {"app", "--password=x"};
  EXPECT_FALSE(Redactor::current()->redact(a));
  Redactor::set(nullptr);  // back to the defaults
  EXPECT_TRUE(Redactor::current()->redact(a));
}

}  // namespace
}  // namespace procwatch::redact
