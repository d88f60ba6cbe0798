#include "sources/netlink/wait_fds.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace procwatch::netlink {
namespace {

using namespace std::chrono_literals;

TEST(WaitFds, WakeFdWakesAWaitWithoutTimeout) {
  auto wake = WakeFd::open();
  ASSERT_TRUE(wake.ok());
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    wake->notify();
  });
  auto w = wait_readable({p[0], wake->fd()}, -1);  // returns only because of notify()
  t.join();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 2u);
  wake->reset();
  auto again = wait_readable({wake->fd()}, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);  // reset() consumed it
  close(p[0]);
  close(p[1]);
}

TEST(WaitFds, PeriodicTimerFiresWhileArmedOnly) {
  auto timer = PeriodicTimer::open();
  ASSERT_TRUE(timer.ok());
  EXPECT_FALSE(timer->armed());
  EXPECT_EQ(timer->take(), 0u);
  EXPECT_FALSE(timer->arm(0).ok());  // a zero period is refused, not a one-shot
  ASSERT_TRUE(timer->arm(5'000'000).ok());
  EXPECT_TRUE(timer->armed());
  auto w = wait_readable({timer->fd()}, 2'000'000'000);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 1u);
  std::this_thread::sleep_for(30ms);
  EXPECT_GE(timer->take(), 2u);  // periodic, not one-shot
  ASSERT_TRUE(timer->disarm().ok());
  EXPECT_FALSE(timer->armed());
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(timer->take(), 0u);
  auto quiet = wait_readable({timer->fd()}, 0);
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(*quiet, 0u);
}

TEST(WaitFds, TooManyFdsIsAnError) {
  auto w = wait_readable({0, 0, 0, 0, 0, 0, 0, 0, 0}, 0);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().errnum, EINVAL);
}

}  // namespace
}  // namespace procwatch::netlink
