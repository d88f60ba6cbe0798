#include "sampling/rule_json.h"

#include <gtest/gtest.h>

namespace procwatch::sampling {
namespace {

using namespace std::chrono_literals;

std::vector<rules::RuleResult> sample_results(rules::TimePoint now) {
  rules::RuleResult sshd;
  sshd.rule = "sshd";
  sshd.ok = false;
  sshd.raw_ok = false;
  sshd.severity = rules::Severity::kCritical;
  sshd.count = 0;
  sshd.expected = "1:4";
  sshd.message = "sshd: 0 processes for root (expected 1:4)";
  sshd.counts_per = {{"alice", 2}, {"root", 0}};
  sshd.failing_keys = {"root"};
  sshd.violations_total = 3;
  sshd.violating_since = now - 2500ms;
  rules::RuleResult cpu;
  cpu.rule = "cpu";
  cpu.is_cpu = true;
  cpu.severity = rules::Severity::kWarning;
  cpu.count = 1;
  cpu.expected = "0";
  cpu.message = "cpu: 1 process over the limit";
  cpu.pids = {4242};
  cpu.hogs = {{4242, "spin", "/sshd/bash/spin", 99.5, false}};
  return {sshd, cpu};
}

TEST(RuleJson, RoundTripKeepsWhatTheFormattersUse) {
  const auto now = rules::SteadyClock::now();
  auto in = sample_results(now);
  nlohmann::json j = rule_results_json(in, now);
  EXPECT_EQ(j["status"], "CRITICAL");
  EXPECT_EQ(j["rules"][0]["status"], "CRITICAL");
  EXPECT_EQ(j["rules"][1]["status"], "OK");
  EXPECT_DOUBLE_EQ(j["rules"][0]["violating_for_s"].get<double>(), 2.5);
  EXPECT_TRUE(j["rules"][1]["violating_for_s"].is_null());

  auto out = parse_rule_results_json(j.dump(), now);
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ(rules::format_nagios(*out).text, rules::format_nagios(in).text);
  EXPECT_EQ(rules::format_mon(*out), rules::format_mon(in));
  EXPECT_EQ((*out)[0].counts_per, in[0].counts_per);
  EXPECT_EQ((*out)[0].failing_keys, in[0].failing_keys);
  EXPECT_EQ((*out)[0].violations_total, 3u);
  ASSERT_TRUE((*out)[0].violating_since.has_value());
  EXPECT_LT(std::chrono::abs(*(*out)[0].violating_since - *in[0].violating_since), 1ms);
  ASSERT_EQ((*out)[1].hogs.size(), 1u);
  EXPECT_EQ((*out)[1].hogs[0].tree, "/sshd/bash/spin");
  EXPECT_DOUBLE_EQ((*out)[1].hogs[0].percent, 99.5);
  EXPECT_TRUE((*out)[1].is_cpu);
}

TEST(RuleJson, BadDocumentsNameTheField) {
  const auto now = rules::SteadyClock::now();
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"{", "not valid JSON"},
      {"[]", "\"rules\" array"},
      {R"({"rules": [1]})", "rules[0]: expected an object"},
      {R"({"rules": [{"rule": "a"}]})", "rules[0].ok"},
      {R"({"rules": [{"rule": "a", "ok": true, "severity": "fatal"}]})", "rules[0].severity"},
      {R"({"rules": [{"rule": "a", "ok": true, "severity": "warning", "count": "3"}]})",
       "rules[0].count"},
      {R"({"rules": [{"rule": "a", "ok": true, "severity": "warning", "count": 3,
          "expected": "1:", "message": "m", "hogs": [{"pid": "x"}]}]})",
       "rules[0]: "},
  };
  for (const Case& c : cases) {
    auto r = parse_rule_results_json(c.text, now);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(c.want), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace procwatch::sampling
