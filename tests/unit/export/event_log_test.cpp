#include "export/event_log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace procwatch::output {
namespace {

EventRecord exec_record(int pid, const std::string& exe) {
  EventRecord r;
  r.event = "exec";
  r.ts_realtime_ns = 1795067017000000000ull;
  r.proc.key = {pid, 1000};
  r.proc.exe = exe;
  r.proc.argv = {exe, "arg"};
  return r;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(f, line);) out.push_back(line);
  return out;
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pw-eventlog-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(EventLogTest, WritesJsonLinesAtFlush) {
  const std::string path = dir_ + "/events.log";
  auto log = EventLog::open(path);
  ASSERT_TRUE(log.ok()) << log.error().message;
  (*log)->append(exec_record(10, "/bin/a"));
  (*log)->append(exec_record(11, "/bin/b"));
  EXPECT_TRUE(lines_of(path).empty());  // buffered until the engine's batch ends
  (*log)->flush();
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["exe"], "/bin/b");
  EXPECT_EQ((*log)->written(), 2u);
  EXPECT_EQ((*log)->dropped(), 0u);
}

TEST_F(EventLogTest, FullDiskDropsAndCounts) {
  auto log = EventLog::open("/dev/full");  // every write fails with ENOSPC
  ASSERT_TRUE(log.ok()) << log.error().message;
  for (int i = 0; i < 5; ++i) (*log)->append(exec_record(i, "/bin/x"));
  (*log)->flush();
  (*log)->append(exec_record(9, "/bin/y"));
  (*log)->flush();
  EXPECT_EQ((*log)->dropped(), 6u);
  EXPECT_EQ((*log)->written(), 0u);
}

TEST_F(EventLogTest, ReopenFollowsRename) {
  const std::string path = dir_ + "/events.log";
  auto log = EventLog::open(path);
  ASSERT_TRUE(log.ok());
  (*log)->append(exec_record(1, "/bin/old"));
  ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);
  (*log)->append(exec_record(2, "/bin/between"));  // gathered before the reopen: old file
  ASSERT_TRUE((*log)->reopen().ok());
  (*log)->append(exec_record(3, "/bin/new"));
  (*log)->flush();
  auto old_lines = lines_of(path + ".1");
  auto new_lines = lines_of(path);
  ASSERT_EQ(old_lines.size(), 2u);
  ASSERT_EQ(new_lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(new_lines[0])["exe"], "/bin/new");
}

TEST_F(EventLogTest, ReopenFailureKeepsTheOldFile) {
  const std::string sub = dir_ + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  const std::string path = sub + "/events.log";
  auto log = EventLog::open(path);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(std::rename(path.c_str(), (dir_ + "/moved.log").c_str()), 0);
  ASSERT_EQ(::rmdir(sub.c_str()), 0);
  auto r = (*log)->reopen();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
  (*log)->append(exec_record(4, "/bin/still"));
  (*log)->flush();
  EXPECT_EQ(lines_of(dir_ + "/moved.log").size(), 1u);
  EXPECT_EQ((*log)->dropped(), 0u);
}

TEST_F(EventLogTest, OpenErrorNamesTheFileOnOneLine) {
  auto log = EventLog::open(dir_ + "/no/such\ndir/events.log");
  ASSERT_FALSE(log.ok());
  const std::string& m = log.error().message;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_NE(m.find("no/such\\x0adir/events.log"), std::string::npos) << m;
  EXPECT_NE(m.find("No such file"), std::string::npos) << m;
}

}  // namespace
}  // namespace procwatch::output
