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
  EXPECT_FALSE(a.on_drained());  // already accounted: not counted again
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
  EXPECT_FALSE(a.on_message(0, 11));  // nothing lost on cpu 0
  EXPECT_FALSE(a.on_message(3, 0));   // cpu 3 never seen: its loss is invisible
  auto l = a.on_drained();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->count, 1u);
  EXPECT_EQ(total(a.on_message(3, 4)), 3u);  // not reduced: cpu 3 was not pending
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
  EXPECT_EQ(g->count, 2u);
  EXPECT_EQ(g->reason, "seq_gap");
}

}  // namespace
}  // namespace procwatch::netlink
