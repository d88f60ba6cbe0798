#include "sampling/rule_monitor.h"

#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <prometheus/text_serializer.h>

#include "rules/config.h"
#include "temp_proc_tree.h"

namespace procwatch::sampling {
namespace {

using namespace std::chrono_literals;
const std::string kBasic = std::string(PROCWATCH_FIXTURES) + "/proc/basic";

// What /metrics shows of these families (prometheus-cpp's serializer, as cmd_serve uses).
std::string text_of(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, families);
  return os.str();
}

const prometheus::MetricFamily* find_family(const std::vector<prometheus::MetricFamily>& fs,
                                            const std::string& name) {
  for (const auto& f : fs) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

rules::Config config(const std::string& yaml) {
  auto c = rules::parse_config(yaml, "test.yml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : rules::Config{};
}

struct Harness {
  explicit Harness(const std::string& root, const std::string& yaml)
      : reader(root), monitor(config(yaml), reader, options()) {}
  RuleMonitorOptions options() {
    RuleMonitorOptions o;
    o.sampler.ticks_per_second = 100;
    o.sampler.page_size = 4096;
    o.sampler.uptime_s = [this] { return uptime; };
    o.log = [this](const std::string& line) { logs.push_back(nlohmann::json::parse(line)); };
    return o;
  }
  bool tick(rules::TimePoint now, bool events, std::vector<ProcInfo> procs = {}) {
    if (procs.empty()) procs = reader.scan();
    return monitor.tick([&] { return procs; }, events, now);
  }
  const rules::RuleResult& result(const std::string& name) {
    last = monitor.results();
    for (const auto& r : last) {
      if (r.rule == name) return r;
    }
    static rules::RuleResult none;
    ADD_FAILURE() << "no result " << name;
    return none;
  }
  double uptime = 1000.0;
  std::vector<nlohmann::json> logs;
  std::vector<rules::RuleResult> last;
  procfs::ProcReader reader;
  RuleMonitor monitor;
};

const char* kTwoSshd = R"(
rules:
  - name: one-sshd
    match: {name: sshd}
    count: "1:1"
    for: 2s
)";

TEST(RuleMonitor, EvaluatesAtMostEveryMinIntervalAndWhenForExpires) {
  Harness h(kBasic, kTwoSshd);  // the fixture has two sshd (612, 1021)
  const auto t0 = rules::SteadyClock::now();
  EXPECT_TRUE(h.tick(t0, false));  // first call: always
  EXPECT_TRUE(h.result("one-sshd").ok);
  EXPECT_FALSE(h.result("one-sshd").raw_ok);
  EXPECT_EQ(h.result("one-sshd").count, 2);
  EXPECT_FALSE(h.tick(t0 + 100ms, true));   // too soon after the last one
  EXPECT_TRUE(h.tick(t0 + 250ms, false));   // no events, but a `for` is pending
  EXPECT_TRUE(h.result("one-sshd").ok);
  EXPECT_TRUE(h.logs.empty());
  EXPECT_TRUE(h.tick(t0 + 2100ms, false));  // the `for` has elapsed
  EXPECT_FALSE(h.result("one-sshd").ok);
  EXPECT_EQ(h.result("one-sshd").violations_total, 1u);
  EXPECT_EQ(h.monitor.evaluations(), 3u);
  ASSERT_EQ(h.logs.size(), 1u);
  EXPECT_EQ(h.logs[0]["rule"], "one-sshd");
  EXPECT_EQ(h.logs[0]["ok"], false);
  EXPECT_EQ(h.logs[0]["status"], "CRITICAL");
  EXPECT_EQ(h.logs[0]["count"], 2);
  EXPECT_EQ(h.logs[0]["pids"], nlohmann::json({612, 1021}));
  // Nothing pending, no events, CPU not due: no evaluation.
  EXPECT_FALSE(h.tick(t0 + 3000ms, false));

  const auto fams = h.monitor.families();
  ASSERT_EQ(fams.size(), 4u);
  EXPECT_EQ(fams[0].name, "procwatch_rule_ok");
  EXPECT_EQ(fams[1].name, "procwatch_rule_processes");
  EXPECT_EQ(fams[2].name, "procwatch_rule_violations_total");
  EXPECT_EQ(fams[3].name, "procwatch_cpu_hog");
  EXPECT_EQ(fams[0].type, prometheus::MetricType::Gauge);
  EXPECT_EQ(fams[1].type, prometheus::MetricType::Gauge);
  EXPECT_EQ(fams[2].type, prometheus::MetricType::Counter);
  EXPECT_EQ(fams[3].type, prometheus::MetricType::Gauge);
  ASSERT_EQ(fams[0].metric.size(), 1u);
  ASSERT_EQ(fams[0].metric[0].label.size(), 1u);
  EXPECT_EQ(fams[0].metric[0].label[0].name, "rule");
  EXPECT_EQ(fams[0].metric[0].label[0].value, "one-sshd");
  EXPECT_EQ(fams[0].metric[0].gauge.value, 0);
  ASSERT_EQ(fams[1].metric.size(), 1u);
  EXPECT_EQ(fams[1].metric[0].gauge.value, 2);
  ASSERT_EQ(fams[2].metric.size(), 1u);
  EXPECT_EQ(fams[2].metric[0].counter.value, 1);
  EXPECT_TRUE(fams[3].metric.empty());  // no cpu rule, no hogs

  const std::string text = text_of(fams);
  EXPECT_NE(text.find("procwatch_rule_ok{rule=\"one-sshd\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("procwatch_rule_processes{rule=\"one-sshd\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("procwatch_rule_violations_total{rule=\"one-sshd\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("# HELP procwatch_rule_ok Whether the rule holds (1) or is violated past "
                      "its `for` (0).\n# TYPE procwatch_rule_ok gauge\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE procwatch_rule_violations_total counter\n"), std::string::npos);
  // An empty family still says what it is, as before.
  EXPECT_NE(text.find("# TYPE procwatch_cpu_hog gauge\n"), std::string::npos);
  EXPECT_EQ(text.find("procwatch_cpu_hog{"), std::string::npos);

  auto doc = nlohmann::json::parse(h.monitor.json());
  EXPECT_EQ(doc["status"], "CRITICAL");
  EXPECT_EQ(doc["rules"][0]["rule"], "one-sshd");

  // One sshd left (events arrived): holds again, logged once.
  auto procs = h.reader.scan();
  std::erase_if(procs, [](const ProcInfo& p) { return p.key.pid == 1021; });
  EXPECT_TRUE(h.tick(t0 + 3300ms, true, procs));
  EXPECT_TRUE(h.result("one-sshd").ok);
  ASSERT_EQ(h.logs.size(), 2u);
  EXPECT_EQ(h.logs[1]["ok"], true);
  EXPECT_EQ(h.logs[1]["msg"], "rule holds again");
}

TEST(RuleMonitor, ABlipShorterThanForNeverFlips) {
  Harness h(kBasic, kTwoSshd);
  auto one = h.reader.scan();
  std::erase_if(one, [](const ProcInfo& p) { return p.key.pid == 1021; });
  const auto t0 = rules::SteadyClock::now();
  ASSERT_TRUE(h.tick(t0, true, one));
  EXPECT_TRUE(h.result("one-sshd").raw_ok);
  ASSERT_TRUE(h.tick(t0 + 300ms, true));  // a second sshd for 0.5 s
  EXPECT_FALSE(h.result("one-sshd").raw_ok);
  ASSERT_TRUE(h.tick(t0 + 800ms, true, one));
  for (auto t = 1000ms; t < 4000ms; t += 250ms) h.tick(t0 + t, false, one);
  EXPECT_TRUE(h.result("one-sshd").ok);
  EXPECT_EQ(h.result("one-sshd").violations_total, 0u);
  EXPECT_TRUE(h.logs.empty());
}

class MonitorTree : public TempProcTree {};

TEST_F(MonitorTree, CpuHogIsSampledOnTheCpuIntervalAndKeptBetweenSamples) {
  Harness h(dir_.string(), "cpu:\n  max_percent: 50\n  window: 30s\n");
  std::vector<ProcInfo> named = h.reader.scan();
  for (auto& p : named) p.tree = "/t/" + p.comm;
  const auto t0 = rules::SteadyClock::now();
  ASSERT_TRUE(h.tick(t0, false, named));
  EXPECT_TRUE(h.result("cpu").ok);

  set_stat(1100, 7 + 600);  // 6 s of CPU in the next 5 s: 120 %
  h.uptime = 1005.0;
  ASSERT_TRUE(h.tick(t0 + 1s, true, named));  // event-driven: cached numbers, no hog yet
  EXPECT_TRUE(h.result("cpu").ok);
  ASSERT_TRUE(h.tick(t0 + 5s, false, named));  // CPU interval: re-read /proc
  EXPECT_FALSE(h.result("cpu").ok);
  ASSERT_EQ(h.result("cpu").hogs.size(), 1u);
  EXPECT_EQ(h.result("cpu").hogs[0].pid, 1100);
  EXPECT_NEAR(h.result("cpu").hogs[0].percent, 120.0, 1e-6);
  ASSERT_TRUE(h.tick(t0 + 5300ms, true, named));  // between samples the hog stays
  EXPECT_FALSE(h.result("cpu").ok);
  const auto fams = h.monitor.families();
  const auto* hog = find_family(fams, "procwatch_cpu_hog");
  ASSERT_NE(hog, nullptr);
  ASSERT_EQ(hog->metric.size(), 1u);
  ASSERT_EQ(hog->metric[0].label.size(), 1u);
  EXPECT_EQ(hog->metric[0].label[0].name, "tree");
  EXPECT_EQ(hog->metric[0].label[0].value, "/t/python3");
  EXPECT_EQ(hog->metric[0].gauge.value, 1);
  const std::string text = text_of(fams);
  EXPECT_NE(text.find("procwatch_cpu_hog{tree=\"/t/python3\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("procwatch_rule_ok{rule=\"cpu\"} 0\n"), std::string::npos);
}

TEST(RuleMonitor, LabelValuesAreEscaped) {
  Harness h(kBasic, "rules:\n  - name: 'a\"b\\c'\n    match: {name: nginx}\n");
  h.tick(rules::SteadyClock::now(), false);
  const auto fams = h.monitor.families();
  const auto* ok = find_family(fams, "procwatch_rule_ok");
  ASSERT_NE(ok, nullptr);
  ASSERT_EQ(ok->metric.size(), 1u);
  EXPECT_EQ(ok->metric[0].label[0].value, "a\"b\\c");  // raw in the family
  const std::string text = text_of(fams);  // escaped by prometheus-cpp
  EXPECT_NE(text.find("procwatch_rule_ok{rule=\"a\\\"b\\\\c\"} 1\n"), std::string::npos)
      << text;
}

// On its own thread: reads the snapshots it is given (never a table), evaluates, publishes;
// a reload asked from another thread takes effect there.
TEST(RuleMonitor, RunsOnItsOwnThreadOverSnapshots) {
  Harness h(kBasic, kTwoSshd);
  auto snap = std::make_shared<EngineSnapshot>();
  snap->generation = 1;
  for (ProcInfo& p : h.reader.scan()) snap->processes.push_back(std::make_shared<const ProcInfo>(p));
  std::mutex mu;
  std::shared_ptr<const EngineSnapshot> current = snap;
  int calls = 0;
  h.monitor.start(
      [&] {
        std::lock_guard lk(mu);
        ++calls;
        return current;
      },
      5ms);
  auto wait_for = [](auto pred) {
    for (int i = 0; i < 400 && !pred(); ++i) std::this_thread::sleep_for(5ms);
    return pred();
  };
  ASSERT_TRUE(wait_for([&] { return h.monitor.evaluations() >= 1; }));
  EXPECT_EQ(h.monitor.results().at(0).count, 2) << "two sshd in the fixture";

  h.monitor.request_reload(config(R"(
rules:
  - name: no-cron
    match: {name: cron}
    count: "0:0"
)"));
  ASSERT_TRUE(wait_for([&] {
    auto r = h.monitor.results();
    return !r.empty() && r[0].rule == "no-cron";
  }));
  h.monitor.stop();
  const int after_stop = calls;
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(calls, after_stop) << "stop() joined the thread";
  h.monitor.stop();  // idempotent
}

}  // namespace
}  // namespace procwatch::sampling
