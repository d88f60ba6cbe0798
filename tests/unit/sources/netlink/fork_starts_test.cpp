// resolve_fork_starts on hand-built batches, with /proc rooted at the fixture tree (pid 1021
// has start time 88210 there; pid 4242 does not exist).
#include "sources/netlink/fork_starts.h"

#include <gtest/gtest.h>

#include <string>

namespace procwatch::netlink {
namespace {

const procfs::ProcReader kFixture{std::string(PROCWATCH_FIXTURES) + "/proc/basic"};

ProcEvent fork_of(int32_t child) { return ProcEvent{1, 0, ForkEvent{1, 1, child, child, {}}}; }
ProcEvent exec_of(int32_t pid, std::optional<uint64_t> start) {
  ExecEvent e{pid, pid, {}};
  e.capture.start_time = start;
  return ProcEvent{2, 0, e};
}
ProcEvent exit_of(int32_t pid) {
  ExitEvent x;
  x.pid = x.tid = pid;
  return ProcEvent{3, 0, x};
}
std::optional<uint64_t> start_of(const ProcEvent& e) {
  return std::get<ForkEvent>(e.body).child_start_time;
}

TEST(ResolveForkStarts, ChildThatExecsTakesTheCapturesStartWithoutReading) {
  // 1021 exists in the fixture with another start time: the capture must win.
  std::vector<ProcEvent> b{fork_of(1021), exec_of(1021, 777)};
  EXPECT_EQ(resolve_fork_starts(b, kFixture), 0u);
  EXPECT_EQ(start_of(b[0]), 777u);
}

TEST(ResolveForkStarts, ChildWithoutExecIsReadFromProc) {
  std::vector<ProcEvent> b{fork_of(1021)};
  EXPECT_EQ(resolve_fork_starts(b, kFixture), 0u);
  EXPECT_EQ(start_of(b[0]), 88210u);
}

TEST(ResolveForkStarts, ChildThatExitedInTheBatchIsNotRead) {
  // Reading /proc now could find a new process under the same pid.
  std::vector<ProcEvent> b{fork_of(1021), exit_of(1021)};
  EXPECT_EQ(resolve_fork_starts(b, kFixture), 1u);
  EXPECT_FALSE(start_of(b[0]));
}

TEST(ResolveForkStarts, GoneChildStaysUnknown) {
  std::vector<ProcEvent> b{fork_of(4242)};
  EXPECT_EQ(resolve_fork_starts(b, kFixture), 1u);
  EXPECT_FALSE(start_of(b[0]));
}

TEST(ResolveForkStarts, PidReusedInTheBatchKeepsEachProcessApart) {
  std::vector<ProcEvent> b{fork_of(1021), exec_of(1021, 500), exit_of(1021),
                           fork_of(1021), exec_of(1021, 900)};
  EXPECT_EQ(resolve_fork_starts(b, kFixture), 0u);
  EXPECT_EQ(start_of(b[0]), 500u);
  EXPECT_EQ(start_of(b[3]), 900u);

  std::vector<ProcEvent> c{fork_of(1021), exit_of(1021), fork_of(1021), exec_of(1021, 900)};
  EXPECT_EQ(resolve_fork_starts(c, kFixture), 1u);
  EXPECT_FALSE(start_of(c[0]));  // not the later process's 900, and not read
  EXPECT_EQ(start_of(c[2]), 900u);
}

TEST(ResolveForkStarts, ExecWithoutACaptureAndThenExitLeavesItUnknown) {
  std::vector<ProcEvent> b{fork_of(1021), exec_of(1021, std::nullopt), exit_of(1021)};
  EXPECT_EQ(resolve_fork_starts(b, kFixture), 1u);
  EXPECT_FALSE(start_of(b[0]));
}

TEST(ResolveForkStarts, ThreadsAreLeftAlone) {
  std::vector<ProcEvent> b{ProcEvent{1, 0, ForkEvent{1021, 1021, 1021, 1030, {}}}};
  EXPECT_EQ(resolve_fork_starts(b, kFixture), 0u);
  EXPECT_FALSE(start_of(b[0]));
}

}  // namespace
}  // namespace procwatch::netlink
