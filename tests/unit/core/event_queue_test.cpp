#include "core/event_queue.h"

#include <gtest/gtest.h>

namespace procwatch {
namespace {

ProcEvent exec_ev(int pid) { return ProcEvent{1, 0, ExecEvent{pid, pid, {}}}; }

TEST(EventQueue, FifoOrder) {
  EventQueue q(8);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(q.push(exec_ev(i)));
  std::vector<ProcEvent> out;
  ASSERT_TRUE(q.pop_batch(out, 10, std::chrono::milliseconds(0)));
  ASSERT_EQ(out.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(std::get<ExecEvent>(out[i].body).pid, i + 1);
}

TEST(EventQueue, FullQueueReportsLossBeforeNextEvent) {
  EventQueue q(3);
  for (int i = 1; i <= 6; ++i) q.push(exec_ev(i));
  EXPECT_EQ(q.dropped(), 3u);
  std::vector<ProcEvent> out;
  q.pop_batch(out, 10, std::chrono::milliseconds(0));
  ASSERT_EQ(out.size(), 3u);
  q.push(exec_ev(7));
  q.pop_batch(out, 10, std::chrono::milliseconds(0));
  ASSERT_EQ(out.size(), 2u);
  const auto* lost = std::get_if<LostEvent>(&out[0].body);
  ASSERT_NE(lost, nullptr);
  EXPECT_EQ(lost->count, 3u);
  EXPECT_EQ(lost->reason, "queue_full");
  EXPECT_EQ(std::get<ExecEvent>(out[1].body).pid, 7);
}

TEST(EventQueue, LossReportedEvenWithoutFollowingEvent) {
  EventQueue q(2);
  for (int i = 1; i <= 4; ++i) q.push(exec_ev(i));
  std::vector<ProcEvent> out;
  q.pop_batch(out, 10, std::chrono::milliseconds(0));
  q.pop_batch(out, 10, std::chrono::milliseconds(0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<LostEvent>(out[0].body).count, 2u);
}

TEST(EventQueue, CloseEndsConsumerAfterDrain) {
  EventQueue q(4);
  q.push(exec_ev(1));
  q.close();
  EXPECT_FALSE(q.push(exec_ev(2)));
  std::vector<ProcEvent> out;
  EXPECT_TRUE(q.pop_batch(out, 10, std::chrono::milliseconds(0)));
  EXPECT_EQ(out.size(), 1u);
  EXPECT_FALSE(q.pop_batch(out, 10, std::chrono::milliseconds(0)));
}

TEST(EventName, MatchesVariantOrder) {
  EXPECT_STREQ(event_name(EventBody{ForkEvent{}}), "fork");
  EXPECT_STREQ(event_name(EventBody{CoredumpEvent{}}), "coredump");
  EXPECT_STREQ(event_name(EventBody{LostEvent{}}), "lost");
}

}  // namespace
}  // namespace procwatch
