#include "engine/engine.h"
#include "export/event_format.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace procwatch {
namespace {

namespace fs = std::filesystem;

// A copy of the basic fixture /proc tree that a test changes while "events are lost".
class EngineResync : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("engine-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::copy(std::string(PROCWATCH_FIXTURES) + "/proc/basic", dir_,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A new process: a copy of `from` as `pid`, started at `start` ticks.
  void add_like(int from, int pid, uint64_t start) {
    fs::copy(dir_ / std::to_string(from), dir_ / std::to_string(pid),
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    std::ifstream in(dir_ / std::to_string(pid) / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::string rest = text.substr(text.rfind(')') + 2);
    std::vector<std::string> f;
    for (size_t at = 0; at < rest.size();) {
      size_t sp = rest.find(' ', at);
      if (sp == std::string::npos) sp = rest.size();
      f.push_back(rest.substr(at, sp - at));
      at = sp + 1;
    }
    f[19] = std::to_string(start);  // field 22 (starttime) is the 20th after the comm
    std::string out = std::to_string(pid) + text.substr(text.find(' '), text.rfind(')') + 2 - text.find(' '));
    for (size_t i = 0; i < f.size(); ++i) out += (i ? " " : "") + f[i];
    std::ofstream(dir_ / std::to_string(pid) / "stat") << out;
  }

  fs::path dir_;
};

TEST_F(EngineResync, GoneAndNewProcessesAreReportedAsResyncRecords) {
  procfs::ProcReader reader(dir_.string());
  Engine engine(reader, [](const ProcInfo& self, const ProcInfo*) { return "/" + self.comm; });
  std::vector<EventRecord> seen;
  engine.add_listener([&](const EventRecord& r) { seen.push_back(r); });
  engine.initial_scan();
  ASSERT_TRUE(engine.table().find(1400));
  ASSERT_FALSE(engine.table().find(1500));

  // While the kernel's events were lost, 1400 exited and 1500 started.
  fs::remove_all(dir_ / "1400");
  add_like(1300, 1500, 99000);
  ProcEvent lost;
  lost.body = LostEvent{3, "seq_gap"};
  engine.handle(lost);

  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].event, "lost");
  EXPECT_FALSE(seen[0].resync);
  EXPECT_EQ(seen[1].event, "exit");
  EXPECT_TRUE(seen[1].resync);
  EXPECT_EQ(seen[1].proc.key.pid, 1400);
  ASSERT_TRUE(seen[1].exit.has_value());
  EXPECT_FALSE(seen[1].exit->code_known) << "how it ended is unknown";
  EXPECT_EQ(seen[2].event, "exec");
  EXPECT_TRUE(seen[2].resync);
  EXPECT_EQ(seen[2].proc.key.pid, 1500);
  EXPECT_EQ(seen[2].proc.key.start_time, 99000u);
  EXPECT_FALSE(seen[2].proc.tree.empty()) << "named like any exec";
  EXPECT_FALSE(engine.table().find(1400));
  EXPECT_TRUE(engine.table().find(1500));
  EXPECT_EQ(engine.stats().resync_removed, 1u);
  EXPECT_EQ(engine.stats().resync_added, 1u);

  // The JSON forms say so; other records do not carry the key.
  std::string line;
  output::append_event_json_line(line, seen[2]);
  EXPECT_NE(line.find("\"resync\":true"), std::string::npos) << line;
  EXPECT_EQ(output::event_json(seen[2]).dump() + "\n", line);
  std::string plain;
  output::append_event_json_line(plain, seen[0]);
  EXPECT_EQ(plain.find("resync"), std::string::npos);
}

}  // namespace
}  // namespace procwatch
