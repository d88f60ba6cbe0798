#include "sources/netlink/seq_tracker.h"

#include <gtest/gtest.h>

namespace procwatch::netlink {
namespace {

TEST(SeqTracker, FirstMessageOnACpuIsNoGap) {
  SeqTracker t;
  EXPECT_EQ(t.observe(0, 1000), 0u);
  EXPECT_EQ(t.observe(1, 7), 0u);
  EXPECT_TRUE(t.seen(0));
  EXPECT_TRUE(t.seen(1));
  EXPECT_FALSE(t.seen(2));
  EXPECT_EQ(t.cpu_count(), 2u);
}

TEST(SeqTracker, ConsecutiveAndGaps) {
  SeqTracker t;
  t.observe(0, 5);
  EXPECT_EQ(t.observe(0, 6), 0u);
  EXPECT_EQ(t.observe(0, 7), 0u);
  EXPECT_EQ(t.observe(0, 11), 3u);  // 8, 9, 10 missing
  EXPECT_EQ(t.observe(0, 12), 0u);
  EXPECT_EQ(t.observe(0, 1012), 999u);
}

TEST(SeqTracker, WrapsAroundU32) {
  SeqTracker t;
  t.observe(0, 0xfffffffe);
  EXPECT_EQ(t.observe(0, 0xffffffff), 0u);
  EXPECT_EQ(t.observe(0, 0), 0u);
  EXPECT_EQ(t.observe(0, 1), 0u);
  t.observe(1, 0xfffffffd);
  EXPECT_EQ(t.observe(1, 2), 4u);  // fffffffe, ffffffff, 0, 1
}

TEST(SeqTracker, CpusAreIndependent) {
  SeqTracker t;
  t.observe(0, 100);
  t.observe(1, 5000);
  EXPECT_EQ(t.observe(0, 101), 0u);
  EXPECT_EQ(t.observe(1, 5001), 0u);  // would be a huge gap if cpu 0's seq were used
  EXPECT_EQ(t.observe(1, 5003), 1u);
  EXPECT_EQ(t.observe(0, 102), 0u);
  EXPECT_EQ(t.observe(7, 3), 0u);  // a new cpu
}

TEST(SeqTracker, RepeatAndBackwardJumpAreNotLoss) {
  SeqTracker t;
  t.observe(0, 50);
  EXPECT_EQ(t.observe(0, 50), 0u);
  EXPECT_EQ(t.observe(0, 10), 0u);  // restarted counter: re-base on it
  EXPECT_EQ(t.observe(0, 11), 0u);
  EXPECT_EQ(t.observe(0, 14), 2u);
}

// ---- LossAccounting ----

uint64_t total(const std::optional<LostEvent>& l) { return l ? l->count : 0; }

TEST(LossAccounting, PlainGapIsSeqGap) {
  LossAccounting a;
  EXPECT_FALSE(a.on_message(0, 1));
  auto l = a.on_message(0, 5);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->count, 3u);
  EXPECT_EQ(l->reason, "seq_gap");
  EXPECT_FALSE(a.on_drained());  // no overrun: nothing to report when empty
}

TEST(LossAccounting, GapsAfterOverrunAreAttributedToIt) {
  LossAccounting a;
  a.on_message(0, 10);
  a.on_message(1, 20);
  a.on_overrun();
  auto l0 = a.on_message(0, 15);  // 11..14 lost
  ASSERT_TRUE(l0);
  EXPECT_EQ(l0->reason, "enobufs");
  EXPECT_EQ(l0->count, 4u);
  auto l1 = a.on_message(1, 22);
  ASSERT_TRUE(l1);
  EXPECT_EQ(l1->reason, "enobufs");
  EXPECT_EQ(l1->count, 1u);
  EXPECT_FALSE(a.on_drained());      // already accounted: not counted again
  auto later = a.on_message(0, 17);  // a new gap, after the overrun was settled
  ASSERT_TRUE(later);
  EXPECT_EQ(later->reason, "seq_gap");
}

TEST(LossAccounting, DrainedBeforeTheGapShowsCountsOnce) {
  LossAccounting a;
  a.on_message(0, 10);
  a.on_message(1, 20);
  a.on_overrun();
  auto early = a.on_drained();  // cpu 0 and 1 have said nothing yet
  ASSERT_TRUE(early);
  EXPECT_EQ(early->count, 1u);
  EXPECT_EQ(early->reason, "enobufs");
  EXPECT_FALSE(a.on_drained());
  uint64_t sum = early->count;
  sum += total(a.on_message(0, 16));  // 5 lost on cpu 0, one already reported
  sum += total(a.on_message(1, 23));  // 2 lost on cpu 1
  EXPECT_EQ(sum, 7u);
  EXPECT_EQ(total(a.on_message(1, 25)), 1u);  // later gaps are their own
}

TEST(LossAccounting, OverrunWithNoVisibleGapStillReportsOne) {
  LossAccounting a;
  a.on_message(0, 10);
  a.on_overrun();
  EXPECT_FALSE(a.on_message(0, 11));  // still the queued messages
  auto l = a.on_drained();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->count, 1u);
  EXPECT_EQ(l->reason, "enobufs");
  EXPECT_FALSE(a.on_message(0, 12));  // first after the drain, no gap: cpu 0 lost nothing
  EXPECT_FALSE(a.overrun_open());
  auto g = a.on_message(0, 15);  // a later gap is its own, not reduced by the early 1
  ASSERT_TRUE(g);
  EXPECT_EQ(g->count, 2u);
  EXPECT_EQ(g->reason, "seq_gap");
}

// What the kernel really does: ENOBUFS comes before the messages queued ahead of the overflow,
// so the CPUs are first seen after on_overrun() and their gaps show after the drain.
TEST(LossAccounting, CpusFirstSeenAfterTheOverrunAreAttributed) {
  LossAccounting a;
  a.on_overrun();
  EXPECT_FALSE(a.on_message(0, 100));
  EXPECT_FALSE(a.on_message(0, 101));
  EXPECT_FALSE(a.on_message(1, 50));
  auto early = a.on_drained();
  ASSERT_TRUE(early);
  uint64_t sum = early->count;
  auto l0 = a.on_message(0, 150);  // 102..149 lost
  ASSERT_TRUE(l0);
  EXPECT_EQ(l0->reason, "enobufs");
  sum += l0->count;
  auto l1 = a.on_message(1, 60);  // 51..59 lost
  ASSERT_TRUE(l1);
  EXPECT_EQ(l1->reason, "enobufs");
  sum += l1->count;
  EXPECT_EQ(sum, 48u + 9u);  // the early 1 is not counted twice
  EXPECT_FALSE(a.overrun_open());
  EXPECT_EQ(a.on_message(1, 62)->reason, "seq_gap");
}

TEST(LossAccounting, CpuWithoutLossAfterDrainIsSettled) {
  LossAccounting a;
  a.on_message(0, 10);
  a.on_message(1, 20);
  a.on_overrun();
  ASSERT_TRUE(a.on_drained());  // 1 reported early
  EXPECT_FALSE(a.on_message(0, 11));
  EXPECT_TRUE(a.overrun_open());  // cpu 1 has not spoken yet
  auto l = a.on_message(1, 25);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->count, 3u);  // 4 lost, 1 already reported
  EXPECT_FALSE(a.overrun_open());
}

TEST(LossAccounting, OverrunBeforeAnyMessage) {
  LossAccounting a;
  a.on_overrun();
  EXPECT_FALSE(a.on_message(0, 50));
  auto l = a.on_drained();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->count, 1u);
  auto g = a.on_message(0, 53);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->count, 1u);  // 2 lost in all
  EXPECT_EQ(g->reason, "enobufs");
}

TEST(LossAccounting, SecondOverrunReopens) {
  LossAccounting a;
  a.on_message(0, 1);
  a.on_overrun();
  EXPECT_EQ(a.on_message(0, 5)->count, 3u);
  a.on_drained();
  EXPECT_FALSE(a.overrun_open());
  a.on_overrun();
  auto l = a.on_message(0, 9);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->reason, "enobufs");
  EXPECT_EQ(l->count, 3u);
}

// The drop counter (SO_MEMINFO) reports a loss when the socket drains, before any gap shows
// it; the gaps that show it later are not counted again (issue 13: a loss within a second).
TEST(LossAccountingDropCounter, ReportedAtDrainThenGapsAreNotCountedTwice) {
  LossAccounting a;
  EXPECT_FALSE(a.on_message(0, 10));
  EXPECT_FALSE(a.on_message(1, 20));
  EXPECT_FALSE(a.on_drained(0u));
  // 5 messages dropped (3 of cpu 0, 2 of cpu 1); nothing follows yet.
  auto l = a.on_drained(5u);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->count, 5u);
  EXPECT_EQ(l->reason, "socket_drops");
  EXPECT_FALSE(a.on_drained(5u));
  // Later each CPU speaks again: its gap was already reported.
  EXPECT_FALSE(a.on_message(0, 14));
  EXPECT_FALSE(a.on_message(1, 23));
  EXPECT_FALSE(a.on_drained(5u));
  // A gap beyond the counter (a loss before our socket) is still counted.
  auto g = a.on_message(0, 17);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->count, 2u);
  EXPECT_EQ(g->reason, "seq_gap");
  EXPECT_FALSE(a.on_drained(5u));
}

TEST(LossAccountingDropCounter, GapsSeenBeforeTheDrainAreTakenOff) {
  LossAccounting a;
  EXPECT_FALSE(a.on_message(0, 1));
  EXPECT_FALSE(a.on_message(1, 1));
  // 4 dropped: cpu 0's 2 show in this batch, cpu 1's 2 not yet.
  auto g = a.on_message(0, 4);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->count, 2u);
  auto l = a.on_drained(4u);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->count, 2u);
  EXPECT_FALSE(a.on_message(1, 4));
  EXPECT_EQ(total(a.on_drained(4u)), 0u);
}

TEST(LossAccountingDropCounter, CounterWraps) {
  LossAccounting a;
  EXPECT_EQ(total(a.on_drained(0xfffffffeu)), 0xfffffffeu);
  EXPECT_EQ(total(a.on_drained(3u)), 5u);  // 0xfffffffe -> 3 modulo 2^32
}

TEST(LossAccountingDropCounter, ReplacesTheOverrunLowerBound) {
  LossAccounting a;
  EXPECT_FALSE(a.on_message(0, 1));
  a.on_overrun();
  auto l = a.on_drained(5u);  // exact, not the lower bound 1
  ASSERT_TRUE(l);
  EXPECT_EQ(l->count, 5u);
  EXPECT_FALSE(a.on_message(0, 7));  // cpu 0's gap of 5: already reported
  EXPECT_FALSE(a.overrun_open());
}

}  // namespace
}  // namespace procwatch::netlink
