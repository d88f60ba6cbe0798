// Pipeline series (queue, source counters, table adjustments, engine lag, scrape duration):
// names, labels, values, and promtool's lint.
#include "export/pipeline_metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "export/metrics_collector.h"

namespace procwatch::metrics {
namespace {

std::pair<int, std::string> promtool_check(const std::string& text) {
  char path[] = "/tmp/pw-promtool-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return {-1, "mkstemp failed"};
  EXPECT_EQ(write(fd, text.data(), text.size()), ssize_t(text.size()));
  close(fd);
  const std::string cmd = std::string("/usr/bin/promtool check metrics < ") + path + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  unlink(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

PipelineState sample_state() {
  PipelineState s;
  s.queue_depth = 7;
  s.queue_capacity = 262144;
  s.queue_dropped = 3;
  s.source = {"netlink", 1000, 4, 2, {{"exec_capture_missed", 5}, {"seq_gap", 1}}};
  auto e = std::make_shared<EngineSnapshot>();
  e->newest_event_realtime_ns = 1'700'000'000'000'000'000ull;
  e->stats.snapshots = 12;
  e->table.reparented = 9;
  e->table.exits_unknown = 2;
  s.engine = e;
  s.now_realtime_ns = e->newest_event_realtime_ns + 250'000'000;  // 0.25 s later
  s.last_scrape_s = 0.004;
  return s;
}

TEST(PipelineMetrics, ExposesWhatIsCounted) {
  const std::string text = serialize_text(pipeline_families(sample_state()));
  for (const char* line : {
           "procwatch_queue_events 7\n",
           "procwatch_queue_capacity_events 262144\n",
           "procwatch_queue_dropped_total 3\n",
           "procwatch_source_events_total{source=\"netlink\"} 1000\n",
           "procwatch_source_lost_total{source=\"netlink\"} 4\n",
           "procwatch_source_malformed_total{source=\"netlink\"} 2\n",
           "procwatch_source_internal_total{source=\"netlink\",name=\"exec_capture_missed\"} 5\n",
           "procwatch_source_internal_total{source=\"netlink\",name=\"seq_gap\"} 1\n",
           "procwatch_table_adjustments_total{kind=\"reparented\"} 9\n",
           "procwatch_table_adjustments_total{kind=\"exits_unknown\"} 2\n",
           "procwatch_engine_lag_seconds 0.25\n",
           "procwatch_engine_last_event_timestamp_seconds 1700000000\n",
           "procwatch_engine_snapshots_total 12\n",
           "procwatch_scrape_duration_seconds 0.004\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  EXPECT_NE(text.find("# HELP procwatch_engine_lag_seconds "), std::string::npos);
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out << text;
}

TEST(PipelineMetrics, LagIsZeroOnceTheQueueIsDrained) {
  PipelineState s = sample_state();
  EXPECT_DOUBLE_EQ(engine_lag_seconds(s), 0.25);
  s.queue_depth = 0;
  EXPECT_EQ(engine_lag_seconds(s), 0) << "idle is not lag";
  s = sample_state();
  s.now_realtime_ns = s.engine->newest_event_realtime_ns - 1;  // clock stepped back
  EXPECT_EQ(engine_lag_seconds(s), 0);
  s = sample_state();
  auto none = std::make_shared<EngineSnapshot>();
  s.engine = none;  // no event applied yet
  EXPECT_EQ(engine_lag_seconds(s), 0);
}

TEST(PipelineMetrics, WithoutAnEngineOnlyQueueAndSource) {
  PipelineState s = sample_state();
  s.engine = nullptr;
  s.source.name.clear();
  const std::string text = serialize_text(pipeline_families(s));
  EXPECT_EQ(text.find("procwatch_engine_lag_seconds"), std::string::npos);
  EXPECT_NE(text.find("procwatch_source_events_total{source=\"none\"} 1000"), std::string::npos);
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out << text;
}

}  // namespace
}  // namespace procwatch::metrics
