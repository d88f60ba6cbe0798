#include "sampling/sampler.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "temp_proc_tree.h"

namespace procwatch::sampling {
namespace {

namespace fs = std::filesystem;
const std::string kBasic = std::string(PROCWATCH_FIXTURES) + "/proc/basic";

TEST(ParsePsStat, ReadsFieldsAfterTheLastParenthesis) {
  auto st = parse_ps_stat(
      "1300 (evil) (name) S 1022 1300 1290 34816 1400 4194304 1420 0 3 0 7 3 0 0 20 -5 3 0 "
      "90500 16324800 1200 18446744073709551615 1 1 0\n");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 1022);
  EXPECT_EQ(st->pgrp, 1300);
  EXPECT_EQ(st->session, 1290);
  EXPECT_EQ(st->tty_nr, 34816);
  EXPECT_EQ(st->tpgid, 1400);
  EXPECT_EQ(st->utime, 7u);
  EXPECT_EQ(st->stime, 3u);
  EXPECT_EQ(st->nice, -5);
  EXPECT_EQ(st->num_threads, 3);
  EXPECT_EQ(st->start_time, 90500u);
  EXPECT_EQ(st->vsize, 16324800u);
  EXPECT_EQ(st->rss_pages, 1200);
}

TEST(ParsePsStat, RejectsMalformedText) {
  for (const char* bad : {"", "1 (x S 1", "1 (x) S 1 1 1 0 -1", "1 (x) SS 1 1 1 0 -1 0 0 0 0 0 "
                          "7 3 0 0 20 0 1 0 4 11 9", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 7 3 0 0 20 "
                          "0 1 0 4 11 nine"}) {
    EXPECT_FALSE(parse_ps_stat(bad).ok()) << bad;
  }
}

TEST(PsStatFlags, FollowsProcpsOrder) {
  struct Case {
    char state;
    int64_t nice;
    bool locked;
    int32_t session, pgrp, tpgid;
    int64_t threads;
    const char* want;
  };
  const Case cases[] = {
      {'S', 0, false, 9, 1, -1, 1, "Ss"},     // session leader, no tty
      {'S', 0, false, 7, 9, -1, 1, "S"},      // plain
      {'R', 0, false, 7, 9, 9, 1, "R+"},      // foreground group of its tty
      {'I', -20, false, 0, 0, -1, 1, "I<"},   // high priority kernel worker
      {'S', 19, false, 7, 9, -1, 2, "SNl"},   // niced, threaded
      {'S', 0, true, 9, 9, -1, 3, "SLsl"},    // locked pages, leader, threaded (pid 1 "SLsl")
      {'Z', 5, false, 9, 9, 9, 1, "ZNs+"},
  };
  for (const Case& c : cases) {
    PsStat st;
    st.state = c.state;
    st.nice = c.nice;
    st.session = c.session;
    st.pgrp = c.pgrp;
    st.tpgid = c.tpgid;
    st.num_threads = c.threads;
    EXPECT_EQ(ps_stat_flags(st, 9, c.locked), c.want) << c.want;
  }
}

TEST(ParseVmLck, ReadsTheKilobytes) {
  EXPECT_EQ(parse_vm_lck_kb("Name:\tx\nVmPeak:\t 10 kB\nVmLck:\t     128 kB\nVmRSS:\t 9 kB\n"),
            128u);
  EXPECT_EQ(parse_vm_lck_kb("Name:\tx\nVmLck:\t       0 kB\n"), 0u);
  EXPECT_EQ(parse_vm_lck_kb("Name:\tkthreadd\nState:\tS\n"), 0u);
}

SamplerOptions fixed_clock(double* now) {
  SamplerOptions o;
  o.ticks_per_second = 100;
  o.page_size = 4096;
  o.uptime_s = [now] { return *now; };
  return o;
}

std::map<int32_t, rules::ProcSample> by_pid(std::vector<rules::ProcSample> v) {
  std::map<int32_t, rules::ProcSample> m;
  for (auto& s : v) m.emplace(s.info.key.pid, std::move(s));
  return m;
}

TEST(Sampler, FixtureTreeNumbersAsPsWouldShowThem) {
  procfs::ProcReader reader(kBasic);
  double now = 1000.0;
  Sampler sampler(reader, fixed_clock(&now));
  auto v = sampler.sample();
  ASSERT_EQ(v.size(), 13u);
  for (size_t i = 1; i < v.size(); ++i) EXPECT_LT(v[i - 1].info.key.pid, v[i].info.key.pid);
  auto m = by_pid(std::move(v));

  const auto& init = m.at(1);
  EXPECT_EQ(init.state, 'S');
  EXPECT_EQ(init.ps_stat, "Ss");
  EXPECT_EQ(init.vsz_kb, 11004096u / 1024);
  EXPECT_EQ(init.rss_kb, 3604u);  // 901 pages of 4 KiB, = VmRSS in the fixture's status
  EXPECT_NEAR(init.elapsed_s, 1000.0 - 0.04, 1e-9);
  EXPECT_NEAR(init.lifetime_cpu_percent, 0.1 / 999.96 * 100, 1e-9);  // 7+3 ticks
  EXPECT_DOUBLE_EQ(init.cpu_percent, init.lifetime_cpu_percent);     // first sample
  EXPECT_EQ(init.parent_name, "");

  EXPECT_EQ(m.at(2).ps_stat, "S");  // kthreadd: session 0
  EXPECT_EQ(m.at(9).ps_stat, "I");
  EXPECT_EQ(m.at(9).parent_name, "kthreadd");
  EXPECT_EQ(m.at(1100).ps_stat, "Ssl");  // 4 threads
  EXPECT_EQ(m.at(1100).info.threads, 4u);
  EXPECT_EQ(m.at(1200).state, 'Z');
  EXPECT_EQ(m.at(1200).vsz_kb, 0u);
  EXPECT_EQ(m.at(1022).parent_name, "sshd");
  EXPECT_EQ(m.at(1300).parent_name, "bash");
  EXPECT_EQ(m.at(1400).parent_name, "python3");
  EXPECT_NEAR(m.at(1400).elapsed_s, 1000.0 - 910.0, 1e-9);

  // Identity and tree names come through.
  EXPECT_EQ(m.at(2310).info.exe, "/usr/sbin/nginx");
  EXPECT_EQ(m.at(2310).info.key.start_time, 2460u);
  for (const auto& [pid, s] : m) EXPECT_FALSE(s.info.tree.empty()) << pid;
  // Named through the parent chain: payload's tree extends its parent python3's.
  const std::string& parent_tree = m.at(1100).info.tree;
  EXPECT_EQ(m.at(1400).info.tree.substr(0, parent_tree.size()), parent_tree);
  EXPECT_GT(m.at(1400).info.tree.size(), parent_tree.size());
  EXPECT_NE(m.at(1400).info.tree, m.at(2310).info.tree);
}

TEST(Sampler, WithoutNamingTreesStayEmpty) {
  procfs::ProcReader reader(kBasic);
  double now = 1000.0;
  SamplerOptions o = fixed_clock(&now);
  o.name_trees = false;
  Sampler sampler(reader, o);
  auto m = by_pid(sampler.sample());
  EXPECT_EQ(m.at(1022).info.tree, "");
  EXPECT_EQ(m.at(1022).parent_name, "sshd");  // from the scan's own comms
}

class TempTree : public TempProcTree {};

TEST_F(TempTree, CpuPercentOverTheWindowFromTickDeltas) {
  procfs::ProcReader reader(dir_.string());
  double now = 1000.0;
  SamplerOptions o = fixed_clock(&now);
  o.cpu_window = std::chrono::seconds(30);
  Sampler sampler(reader, o);

  auto first = by_pid(sampler.sample());
  EXPECT_DOUBLE_EQ(first.at(1100).cpu_percent, first.at(1100).lifetime_cpu_percent);
  EXPECT_EQ(sampler.tracked(), 13u);

  // 1100 used 300 ticks (3 s of CPU) in 10 s: 30 %; the others nothing.
  set_stat(1100, 7 + 300);
  now = 1010.0;
  auto second = by_pid(sampler.sample());
  EXPECT_NEAR(second.at(1100).cpu_percent, 30.0, 1e-9);
  EXPECT_NEAR(second.at(1100).lifetime_cpu_percent, 3.1 / (1010.0 - 903.1) * 100, 1e-9);
  EXPECT_DOUBLE_EQ(second.at(612).cpu_percent, 0.0);
  EXPECT_GT(second.at(612).lifetime_cpu_percent, 0.0);

  // At 1040 with a 30 s window: measured from the 1010 sample (the newest at least 30 s old),
  // not from 1000 (that would give 1800 ticks in 40 s = 45 %).
  set_stat(1100, 7 + 300 + 1500);
  now = 1040.0;
  auto third = by_pid(sampler.sample());
  EXPECT_NEAR(third.at(1100).cpu_percent, 50.0, 1e-9);  // 15 s of CPU in 30 s

  // Short interval: still measured from 1010 (the only sample >= 30 s old at 1045 is 1010).
  now = 1045.0;
  auto fourth = by_pid(sampler.sample());
  EXPECT_NEAR(fourth.at(1100).cpu_percent, 1500.0 / 100 / 35 * 100, 1e-9);
}

TEST_F(TempTree, ReusedPidStartsAFreshHistoryAndTheDeadAreDropped) {
  procfs::ProcReader reader(dir_.string());
  double now = 1000.0;
  Sampler sampler(reader, fixed_clock(&now));
  sampler.sample();
  ASSERT_EQ(sampler.tracked(), 13u);

  // 1300 is gone and 1400 is a new process with the same pid (new start time, 50 ticks used).
  fs::remove_all(dir_ / "1300");
  set_stat(1400, 50, 99000);
  now = 1010.0;
  auto m = by_pid(sampler.sample());
  EXPECT_EQ(m.count(1300), 0u);
  EXPECT_EQ(sampler.tracked(), 12u);
  EXPECT_EQ(m.at(1400).info.key.start_time, 99000u);
  // 53 ticks over 20 s of life, not a delta against the old process's 10 ticks.
  EXPECT_NEAR(m.at(1400).cpu_percent, 0.53 / 20.0 * 100, 1e-9);
}

TEST_F(TempTree, KnownInfosWithAStaleStartTimeAreLeftOut) {
  procfs::ProcReader reader(dir_.string());
  double now = 1000.0;
  Sampler sampler(reader, fixed_clock(&now));
  std::vector<ProcInfo> infos = reader.scan();
  ASSERT_FALSE(infos.empty());
  for (auto& p : infos) {
    p.tree = "t-" + p.comm;
    if (p.key.pid == 2310) p.key.start_time = 1;  // the table thinks of an older 2310
  }
  auto m = by_pid(sampler.sample(infos));
  EXPECT_EQ(m.count(2310), 0u);
  EXPECT_EQ(m.at(2290).info.tree, "t-containerd-shim");  // trees are kept as given
  EXPECT_EQ(m.size(), 12u);
}

// Live /proc: the sampler agrees with ps about a child it started.
TEST(SamplerLive, AgreesWithPsAboutAChild) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setsid();
    ::close(ready[0]);
    (void)!::write(ready[1], "x", 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let it reach pause()

  procfs::ProcReader reader;
  Sampler sampler(reader);
  auto m = by_pid(sampler.sample());
  std::string cmd = "ps -o stat=,vsz=,rss=,etimes= -p " + std::to_string(child);
  FILE* ps = ::popen(cmd.c_str(), "r");
  ASSERT_NE(ps, nullptr);
  char stat[16] = {};
  unsigned long vsz = 0, rss = 0, etimes = 0;
  int n = std::fscanf(ps, "%15s %lu %lu %lu", stat, &vsz, &rss, &etimes);
  ::pclose(ps);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);

  ASSERT_EQ(n, 4);
  ASSERT_EQ(m.count(child), 1u);
  const auto& s = m.at(child);
  EXPECT_EQ(s.ps_stat, stat);
  EXPECT_EQ(s.ps_stat, "Ss");
  EXPECT_EQ(s.vsz_kb, vsz);
  EXPECT_EQ(s.rss_kb, rss);
  EXPECT_NEAR(s.elapsed_s, double(etimes), 1.0);
  EXPECT_EQ(s.parent_name, m.at(::getpid()).info.comm);
  EXPECT_FALSE(s.info.tree.empty());
  EXPECT_EQ(m.at(::getpid()).state, 'R');
}

}  // namespace
}  // namespace procwatch::sampling
