#include "sources/replay/replay_source.h"

#include <gtest/gtest.h>

#include <chrono>

#include "sources/replay/script.h"
#include "table/process_table.h"

namespace procwatch {
namespace {

using replay::Script;
using namespace std::chrono_literals;

std::vector<ProcEvent> drain(EventQueue& q) {
  std::vector<ProcEvent> all, batch;
  while (q.pop_batch(batch, 64, 2000ms)) {
    all.insert(all.end(), batch.begin(), batch.end());
    if (batch.empty()) break;  // timed out without close: avoid hanging the test
  }
  return all;
}

TEST(ScriptTest, StampsIncreasingTimesAndFillsCapture) {
  Script s(1'000'000'000, 1'000'000);
  s.fork(1, 100, 42).exec(100, "/usr/lib/very-long-program-name", {"prog", "-x"}).kill(100, 9);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.events()[0].ts_ns, 1'000'000'000u);
  EXPECT_EQ(s.events()[1].ts_ns, 1'001'000'000u);
  const auto& f = std::get<ForkEvent>(s.events()[0].body);
  EXPECT_EQ(f.child_start_time, 42u);
  const auto& x = std::get<ExecEvent>(s.events()[1].body);
  EXPECT_EQ(x.capture.exe, "/usr/lib/very-long-program-name");
  EXPECT_EQ(x.capture.comm, "very-long-progr");  // 15 chars, like the kernel
  EXPECT_EQ(x.capture.start_time, 42u);
  EXPECT_EQ(x.capture.ppid, 1);
  const auto& e = std::get<ExitEvent>(s.events()[2].body);
  EXPECT_EQ(e.exit_code, 9u);
  EXPECT_EQ(e.parent_pid, 1);
  EXPECT_EQ(exit_status_signal(e.exit_code), 9);
}

TEST(ScriptTest, AutoStartMatchesTableDerivation) {
  Script s;
  s.sleep(123'456'789).fork(1, 100);
  ProcessTable t;
  EXPECT_EQ(std::get<ForkEvent>(s.back().body).child_start_time,
            t.ticks_from_mono_ns(s.back().ts_ns));
  s.fork(1, 101, Script::kNoStart);
  EXPECT_FALSE(std::get<ForkEvent>(s.back().body).child_start_time.has_value());
  EXPECT_EQ(s.take().size(), 2u);
  EXPECT_EQ(s.size(), 0u);
}

TEST(ReplaySourceTest, PlaysEventsInOrderThroughQueue) {
  Script s;
  s.fork(1, 100).exec(100, "/bin/sh", {"sh", "x.sh"}).comm(100, "x").exit(100, 0);
  const auto expected = s.events();
  EventQueue q(1024);
  ReplaySource src(s.take(), ReplayOptions{.close_at_end = true});
  EXPECT_STREQ(src.name(), "replay");
  ASSERT_TRUE(src.start(q).ok());
  EXPECT_FALSE(src.start(q).ok());  // only once
  auto got = drain(q);
  src.wait();
  EXPECT_TRUE(src.done());
  src.stop();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].ts_ns, expected[i].ts_ns);
    EXPECT_EQ(got[i].body.index(), expected[i].body.index());
  }
  EXPECT_EQ(std::get<ExecEvent>(got[1].body).capture.argv,
            (std::vector<std::string>{"sh", "x.sh"}));
  EXPECT_EQ(src.stats().events, 4u);
  EXPECT_EQ(src.stats().counters.at("dropped"), 0u);
}

TEST(ReplaySourceTest, FullQueueLossIsCountedAndReported) {
  Script s;
  for (int i = 0; i < 10; ++i) s.fork(1, 100 + i);
  s.lost(3, "ringbuf");
  EventQueue q(4);
  ReplaySource src(s.take(), ReplayOptions{.synchronous = true});
  ASSERT_TRUE(src.start(q).ok());
  EXPECT_TRUE(src.done());
  const auto st = src.stats();
  EXPECT_EQ(st.events, 4u);
  EXPECT_EQ(st.counters.at("dropped"), 7u);
  EXPECT_EQ(st.lost, 3u);
  EXPECT_EQ(q.dropped(), 7u);
  // The queue announces the drop with a LostEvent on the next successful push.
  std::vector<ProcEvent> batch;
  ASSERT_TRUE(q.pop_batch(batch, 16, 100ms));
  EXPECT_EQ(batch.size(), 4u);
  ASSERT_TRUE(q.push(ProcEvent{}));
  ASSERT_TRUE(q.pop_batch(batch, 16, 100ms));
  ASSERT_EQ(batch.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<LostEvent>(batch[0].body));
  EXPECT_EQ(std::get<LostEvent>(batch[0].body).count, 7u);
}

TEST(ReplaySourceTest, PacedReplayStopsEarly) {
  Script s(0, 1'000'000'000);  // one event per second
  for (int i = 0; i < 10; ++i) s.fork(1, 100 + i);
  EventQueue q(64);
  ReplaySource src(s.take(), ReplayOptions{.speed = 1.0});
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(src.start(q).ok());
  std::this_thread::sleep_for(50ms);
  src.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_TRUE(src.done());
  EXPECT_EQ(src.stats().events, 1u);  // only the first one was due
}

TEST(ReplaySourceTest, DrivesProcessTable) {
  Script s;
  s.fork(1, 100).fork(100, 101).exec(101, "/bin/ls", {"ls"}).exit(100).exit(101, 2);
  EventQueue q;
  ReplaySource src(s.take(), ReplayOptions{.close_at_end = true});
  ProcessTable t;
  ASSERT_TRUE(src.start(q).ok());
  std::vector<Change::Kind> kinds;
  for (const ProcEvent& ev : drain(q)) {
    for (const Change& c : t.apply(ev)) kinds.push_back(c.kind);
  }
  using K = Change::Kind;
  EXPECT_EQ(kinds, (std::vector<K>{K::Fork, K::Fork, K::Exec, K::Exit, K::Reparent, K::Exit}));
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace procwatch
