#include "naming/base_set.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace procwatch {
namespace {

const std::string kDpkg = std::string(NAMING_FIXTURES) + "/dpkg";

TEST(BaseSet, FixtureDpkgEssentialExecutables) {
  auto set = load_dpkg_base_set(kDpkg);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->source(), BaseSet::Source::kDpkg);
  for (const char* n : {"cat", "ls", "mkdir", "env", "sort", "[", "bash", "rbash", "bashbug",
                        "clear_console", "perl", "perl5.36.0", "fixture-sbin-tool",
                        "fixture-root-tool", "fixture-essential-tool"}) {
    EXPECT_TRUE(set->contains(n)) << n;
  }
  // dash is Multi-Arch: its list is dash:amd64.list.
  EXPECT_TRUE(set->contains("dash"));
  EXPECT_TRUE(set->contains("sh"));
}

TEST(BaseSet, FixtureExcludesNonEssentialRemovedAndNonBinFiles) {
  auto set = load_dpkg_base_set(kDpkg);
  ASSERT_TRUE(set.ok());
  for (const char* n : {"sudo", "visudo", "sshd", "removedtool", "not-a-tool", "also-not-a-tool",
                        "local-not-a-tool", "copyright", "libstdbuf.so", "bash.1.gz", "bin", "",
                        "grep" /* essential elsewhere, but not in this fixture */}) {
    EXPECT_FALSE(set->contains(n)) << n;
  }
  // Exactly the fixture's 17 executables (15 listed above + dash + sh).
  EXPECT_EQ(set->size(), 17u);
}

TEST(BaseSet, MissingDatabaseIsAnErrorAndFallsBackToBuiltin) {
  auto set = load_dpkg_base_set("/nonexistent/dpkg");
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.error().message.find("/nonexistent/dpkg/status"), std::string::npos);
  EXPECT_NE(set.error().errnum, 0);

  BaseSet fallback = load_base_set("/nonexistent/dpkg");
  EXPECT_EQ(fallback.source(), BaseSet::Source::kBuiltin);
  for (const char* n : {"ls", "cat", "sh", "bash", "dash", "grep", "sed", "awk", "find", "tar",
                        "gzip", "env", "sleep"}) {
    EXPECT_TRUE(fallback.contains(n)) << n;
  }
  for (const char* n : {"sudo", "sshd", "python3", "node", "cron", "systemd"}) {
    EXPECT_FALSE(fallback.contains(n)) << n;
  }
  EXPECT_EQ(load_base_set("").source(), BaseSet::Source::kBuiltin);
}

TEST(BaseSet, EmptyEssentialSetFallsBackToBuiltin) {
  // A status file that exists but lists nothing essential (a stub database).
  char dir[] = "/tmp/naming-dpkg-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string status = std::string(dir) + "/status";
  FILE* f = fopen(status.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("Package: sudo\nStatus: install ok installed\n", f);
  fclose(f);
  auto raw = load_dpkg_base_set(dir);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->size(), 0u);
  EXPECT_EQ(load_base_set(dir).source(), BaseSet::Source::kBuiltin);
  unlink(status.c_str());
  rmdir(dir);
}

TEST(BaseSet, AddRemoveKeepSortedUnique) {
  BaseSet s({"ls", "cat", "ls"}, BaseSet::Source::kBuiltin);
  EXPECT_EQ(s.size(), 2u);
  s.add("zz");
  s.add("aa");
  s.add("cat");
  EXPECT_EQ(s.names(), (std::vector<std::string>{"aa", "cat", "ls", "zz"}));
  s.remove("ls");
  s.remove("nothere");
  EXPECT_FALSE(s.contains("ls"));
  EXPECT_TRUE(s.contains("zz"));
  EXPECT_EQ(s.size(), 3u);
}

TEST(BaseSet, RealMachineDpkg) {
  if (access("/var/lib/dpkg/status", R_OK) != 0) {
    GTEST_SKIP() << "no dpkg database on this machine";
  }
  auto start = std::chrono::steady_clock::now();
  auto set = load_dpkg_base_set("/var/lib/dpkg");
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  ASSERT_TRUE(set.ok()) << set.error().message;
  RecordProperty("load_ms", std::to_string(ms.count()));
  std::printf("dpkg base set: %zu names in %.2f ms\n", set->size(), ms.count());
  EXPECT_TRUE(set->contains("ls"));
  EXPECT_TRUE(set->contains("bash"));
  EXPECT_TRUE(set->contains("sh"));
  EXPECT_FALSE(set->contains("sudo"));
  EXPECT_FALSE(set->contains("sshd"));
}

}  // namespace
}  // namespace procwatch
