#include "baseline/baseline.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace procwatch::baseline {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kT0 = 1796000000;

Baseline learning_at(int64_t start, int64_t for_s = 100) {
  Baseline b;
  b.learn_started = start;
  b.learn_for_s = for_s;
  return b;
}

TEST(Baseline, LearnsThenFlagsWhatItNeverSaw) {
  Baseline b = learning_at(kT0);
  EXPECT_TRUE(b.learning(kT0 + 10));
  EXPECT_TRUE(b.observe("/cron/base/backup.sh", "/usr/bin/dash", "root", kT0 + 10));
  EXPECT_FALSE(b.learning(kT0 + 100));
  EXPECT_TRUE(b.observe("/cron/base/backup.sh", "/usr/bin/dash", "root", kT0 + 200));
  // Same tree from another exe, or as another user: not the same entry.
  EXPECT_FALSE(b.observe("/cron/base/backup.sh", "/tmp/x/sh", "root", kT0 + 201));
  EXPECT_FALSE(b.observe("/cron/base/backup.sh", "/usr/bin/dash", "www-data", kT0 + 202));
  EXPECT_FALSE(b.observe("/sshd/base/new.py", "/usr/bin/python3.11", "root", kT0 + 203));
  ASSERT_EQ(b.entries().size(), 1u);
  const Seen& s = b.entries().begin()->second;
  EXPECT_EQ(s.first_seen, kT0 + 10);
  EXPECT_EQ(s.last_seen, kT0 + 200);
  EXPECT_EQ(s.count, 2u);
}

TEST(Baseline, FrozenEndsLearningAtOnce) {
  Baseline b = learning_at(kT0);
  b.frozen = true;
  EXPECT_FALSE(b.learning(kT0 + 1));
  EXPECT_FALSE(b.observe("/a", "/bin/a", "root", kT0 + 1));
}

TEST(Baseline, RandomDirectoriesAreOneEntry) {
  EXPECT_EQ(normalize_exe("/tmp/tmp.k3JdQ2xZpL/run.sh"), "/tmp/<random>/run.sh");
  EXPECT_EQ(normalize_exe("/usr/bin/python3.11"), "/usr/bin/python3.11");
  Baseline b = learning_at(kT0);
  b.observe("/random/cron/run.sh", "/tmp/tmp.k3JdQ2xZpL/run.sh", "root", kT0);
  b.learn_for_s = 0;  // enforcing
  EXPECT_TRUE(b.observe("/random/cron/run.sh", "/tmp/tmp.Qx81mZkd0A/run.sh", "root", kT0 + 5));
  EXPECT_EQ(b.entries().size(), 1u);
}

TEST(Baseline, ForgetMergeAndCap) {
  Baseline a = learning_at(kT0), b = learning_at(kT0);
  a.observe("/x", "/bin/x", "root", kT0 + 5);
  a.observe("/x", "/bin/x2", "root", kT0 + 6);
  b.observe("/x", "/bin/x", "root", kT0 + 1);
  b.observe("/y", "/bin/y", "root", kT0 + 9);
  a.merge(b);
  ASSERT_EQ(a.entries().size(), 3u);
  const Seen& x = a.entries().at(Key{"/x", "/bin/x", "root"});
  EXPECT_EQ(x.first_seen, kT0 + 1);
  EXPECT_EQ(x.last_seen, kT0 + 5);
  EXPECT_EQ(x.count, 2u);
  EXPECT_EQ(a.forget("/x"), 2u);
  EXPECT_EQ(a.entries().size(), 1u);

  Baseline big = learning_at(kT0, 1000000);
  for (size_t i = 0; i < kMaxEntries + 5; ++i)
    big.observe("/t" + std::to_string(i), "/bin/t", "root", kT0);
  EXPECT_EQ(big.entries().size(), kMaxEntries);
  EXPECT_EQ(big.dropped(), 5u);
}

class BaselineFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("baseline-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(BaselineFile, SavesSortedYamlAndLoadsItBack) {
  Baseline b = learning_at(kT0, 3600);
  b.observe("/sshd/base/deploy.py", "/usr/bin/python3.11", "deploy", kT0 + 1);
  b.observe("/cron/base/backup.sh", "/usr/bin/dash", "root", kT0 + 2);
  b.observe("/odd \"name\"\n", "/bin/x", "root", kT0 + 3);
  ASSERT_TRUE(b.save(path("b.yml")).ok());
  std::ifstream in(path("b.yml"));
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_LT(text.find("/cron/base/backup.sh"), text.find("/sshd/base/deploy.py")) << text;
  EXPECT_NE(text.find("version: 1"), std::string::npos);
  auto back = Baseline::load(path("b.yml"));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->entries().size(), 3u);
  EXPECT_EQ(back->learn_started, kT0);
  EXPECT_EQ(back->learn_for_s, 3600);
  EXPECT_TRUE(back->contains(Key{"/odd \"name\"\n", "/bin/x", "root"}));
  EXPECT_EQ(back->to_yaml(), text) << "stable: diffs show only real changes";
  EXPECT_EQ(fs::status(path("b.yml")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

TEST_F(BaselineFile, KilledBetweenWriteAndRenameLeavesTheOldFile) {
  Baseline old = learning_at(kT0);
  old.observe("/old", "/bin/old", "root", kT0);
  ASSERT_TRUE(old.save(path("b.yml")).ok());
  // A child writes a much larger baseline and is killed while saving: the file is either the
  // old one or the new one, never a torn mix.
  const pid_t child = fork();
  if (child == 0) {
    Baseline big = learning_at(kT0, 1000000);
    for (int i = 0; i < 50000; ++i) big.observe("/n" + std::to_string(i), "/bin/n", "r", kT0);
    for (;;) (void)big.save(path("b.yml"));
  }
  usleep(300000);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  auto back = Baseline::load(path("b.yml"));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->entries().size() == 1 || back->entries().size() == 50000)
      << back->entries().size();
}

TEST_F(BaselineFile, BrokenFilesAreOneClearError) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not a procwatch baseline"},
      {"version: 1\nlearning: {started: 2026-12-01T12:00:00Z, duration_s: 10, frozen: false}\n"
       "entries:\n  - {tree: /a, exe: /b}\n",
       "missing 'user'"},
      {"version: 2\n", "baseline format 2; this one reads format 1"},
      {"version: 1\nlearning: {started: yesterday, duration_s: 1, frozen: false}\nentries: []\n",
       "'started' must be a time"},
      {"version: 1\nlearning: {started: 2026-12-01T12:00:00Z, duration_s: 10, frozen: false}\n"
       "entries:\n  - {tree: /a, exe: /b, user: [\n",
       ":5:1: end of sequence flow not found"},
  };
  for (const auto& [text, want] : cases) {
    std::ofstream(path("bad.yml")) << text;
    auto r = Baseline::load(path("bad.yml"));
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message.find(want), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.rfind(path("bad.yml"), 0), 0u) << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
  }
  auto missing = Baseline::load(path("none.yml"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().errnum, ENOENT);
}

TEST(BaselineTime, RoundTrips) {
  EXPECT_EQ(format_time(kT0), "2026-11-30T00:53:20Z");
  EXPECT_EQ(parse_time("2026-11-30T00:53:20Z"), kT0);
  EXPECT_EQ(parse_time("2026-11-29 04:53:20"), -1);
}

TEST(Baseline, FlaggedUntilApprovedOrForgotten) {
  Baseline b = learning_at(kT0);
  b.observe("/cron/base/backup.sh", "/usr/bin/dash", "root", kT0);
  bool first = false;
  EXPECT_FALSE(b.observe("/tmp/x/miner", "/tmp/tmp.k3JdQ2xZpL/miner", "root", kT0 + 200, &first));
  EXPECT_TRUE(first);
  EXPECT_FALSE(b.observe("/tmp/x/miner", "/tmp/tmp.Qx81mZkd0A/miner", "root", kT0 + 300, &first));
  EXPECT_FALSE(first);  // the same entry (random directory): logged once
  EXPECT_FALSE(b.observe("/sshd/y", "/usr/bin/y", "root", kT0 + 301, &first));
  ASSERT_EQ(b.flagged().size(), 2u);
  const Seen& f = b.flagged().at(Key{"/tmp/x/miner", "/tmp/<random>/miner", "root"});
  EXPECT_EQ(f.count, 2u);
  EXPECT_EQ(f.first_seen, kT0 + 200);
  EXPECT_EQ(f.last_seen, kT0 + 300);

  // The file keeps them apart from the entries, and reads them back.
  auto again = Baseline::parse(b.to_yaml(), "b.yml");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->entries().size(), 1u);
  EXPECT_EQ(again->flagged().size(), 2u);

  EXPECT_EQ(b.approve("/tmp/x/miner"), 1u);
  EXPECT_EQ(b.approve("/no/such"), 0u);
  EXPECT_TRUE(b.observe("/tmp/x/miner", "/tmp/tmp.ZZ81mZkd0A/miner", "root", kT0 + 400));
  EXPECT_EQ(b.entries().at(Key{"/tmp/x/miner", "/tmp/<random>/miner", "root"}).count, 3u);
  EXPECT_EQ(b.forget("/sshd/y"), 1u);
  EXPECT_TRUE(b.flagged().empty());
}

TEST(Baseline, FlaggedIsCappedAndLearningUnflags) {
  Baseline b = learning_at(kT0, 0);
  for (size_t i = 0; i < kMaxFlagged + 5; ++i)
    b.observe("/t/" + std::to_string(i), "/bin/t", "root", kT0 + 1);
  EXPECT_EQ(b.flagged().size(), kMaxFlagged);
  EXPECT_EQ(b.flagged_dropped(), 5u);
  b.learn_started = kT0 + 10;  // `baseline learn`
  b.learn_for_s = 100;
  EXPECT_TRUE(b.observe("/t/0", "/bin/t", "root", kT0 + 11));
  EXPECT_EQ(b.flagged().count(Key{"/t/0", "/bin/t", "root"}), 0u);
}

TEST(Baseline, RepeatedExecsAfterForgetCopyAndMove) {
  Baseline b = learning_at(kT0);
  b.observe("/a", "/bin/a", "root", kT0);
  b.learn_for_s = 0;  // enforcing
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.observe("/a", "/bin/a", "root", kT0 + 1));
  Baseline copy = b;  // the copy finds its own entries, never the original's
  EXPECT_TRUE(copy.observe("/a", "/bin/a", "root", kT0 + 2));
  EXPECT_EQ(copy.entries().begin()->second.count, 5u);
  EXPECT_EQ(b.entries().begin()->second.count, 4u);
  Baseline moved = std::move(copy);
  EXPECT_TRUE(moved.observe("/a", "/bin/a", "root", kT0 + 3));
  EXPECT_EQ(moved.entries().begin()->second.count, 6u);
  EXPECT_EQ(b.forget("/a"), 1u);
  EXPECT_FALSE(b.observe("/a", "/bin/a", "root", kT0 + 4));  // forgotten: no stale hit
}

}  // namespace
}  // namespace procwatch::baseline
