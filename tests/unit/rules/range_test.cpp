#include <gtest/gtest.h>

#include "rules/rule.h"

namespace procwatch::rules {
namespace {

struct RangeCase {
  const char* text;
  double value;
  bool alerts;
};

class NagiosRangeTable : public ::testing::TestWithParam<RangeCase> {};

TEST_P(NagiosRangeTable, StrictAndLenientAgree) {
  const auto& c = GetParam();
  auto strict = parse_nagios_range(c.text);
  ASSERT_TRUE(strict.ok()) << c.text << ": " << strict.error().message;
  EXPECT_EQ(strict->alerts(c.value), c.alerts) << c.text << " value " << c.value;
  EXPECT_EQ(strict->ok(c.value), !c.alerts);
  auto lenient = parse_nagios_range_lenient(c.text);
  ASSERT_TRUE(lenient.ok()) << c.text;
  EXPECT_EQ(lenient->alerts(c.value), c.alerts) << "lenient " << c.text << " value " << c.value;
}

// The table of the Nagios plugin development guidelines, with both bounds inclusive.
INSTANTIATE_TEST_SUITE_P(
    Guidelines, NagiosRangeTable,
    ::testing::Values(
        // "10": alert outside 0..10
        RangeCase{"10", -1, true}, RangeCase{"10", 0, false}, RangeCase{"10", 10, false},
        RangeCase{"10", 10.5, true}, RangeCase{"10", 11, true},
        // "10:": alert below 10
        RangeCase{"10:", 9.99, true}, RangeCase{"10:", 10, false},
        RangeCase{"10:", 1e9, false},
        // "~:10": alert above 10, no lower bound
        RangeCase{"~:10", -1e9, false}, RangeCase{"~:10", 10, false},
        RangeCase{"~:10", 10.01, true},
        // "10:20": alert outside 10..20
        RangeCase{"10:20", 9, true}, RangeCase{"10:20", 10, false}, RangeCase{"10:20", 15, false},
        RangeCase{"10:20", 20, false}, RangeCase{"10:20", 21, true},
        // "@10:20": alert inside 10..20 (inclusive)
        RangeCase{"@10:20", 9, false}, RangeCase{"@10:20", 10, true},
        RangeCase{"@10:20", 20, true}, RangeCase{"@10:20", 21, false},
        // process-count shorthands from the spec
        RangeCase{"0", 0, false}, RangeCase{"0", 1, true}, RangeCase{"1:", 0, true},
        RangeCase{"1:", 1, false}, RangeCase{":2", 2, false}, RangeCase{":2", 3, true},
        RangeCase{"1:1", 1, false}, RangeCase{"1:1", 2, true}, RangeCase{"1:1", 0, true},
        RangeCase{"@0:0", 0, true}, RangeCase{"@0:0", 1, false},
        RangeCase{"@~:5", 5, true}, RangeCase{"@~:5", 6, false},
        RangeCase{"@3:", 2, false}, RangeCase{"@3:", 3, true},
        RangeCase{"-5:-1", -3, false}, RangeCase{"-5:-1", 0, true},
        RangeCase{"0.5:1.5", 1.5, false}, RangeCase{"0.5:1.5", 1.51, true}));

TEST(NagiosRange, KeepsTextAndBounds) {
  auto r = parse_nagios_range("@~:7");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "@~:7");
  EXPECT_TRUE(r->alert_inside);
  EXPECT_TRUE(r->start_infinite);
  EXPECT_FALSE(r->end_infinite);
  EXPECT_EQ(r->end, 7);
}

TEST(NagiosRange, StrictRejectsMalformed) {
  for (const char* bad : {"", "@", "abc", "1:2:3", "5:1", "~", "~:", ":", "1x", "1:y", " 1",
                          "+1", "inf", "nan", "0x10", "@:"}) {
    auto r = parse_nagios_range(bad);
    ASSERT_FALSE(r.ok()) << "'" << bad << "' should be rejected";
    EXPECT_NE(r.error().message.find("bad range '" + std::string(bad) + "'"), std::string::npos)
        << r.error().message;
  }
  EXPECT_NE(parse_nagios_range("5:1").error().message.find("start is greater than end"),
            std::string::npos);
}

TEST(NagiosRange, LenientMatchesMonitoringPlugins) {
  // parse_range_string() reads numbers with strtod: "abc" is 0..0, "5x" is 0..5.
  auto junk = parse_nagios_range_lenient("abc");
  ASSERT_TRUE(junk.ok());
  EXPECT_TRUE(junk->alerts(76));
  EXPECT_FALSE(junk->alerts(0));
  auto tail = parse_nagios_range_lenient("5x");
  ASSERT_TRUE(tail.ok());
  EXPECT_FALSE(tail->alerts(5));
  EXPECT_TRUE(tail->alerts(6));
  // "" leaves the end infinite: anything >= 0 is fine.
  auto empty = parse_nagios_range_lenient("");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->alerts(1e6));
  EXPECT_TRUE(empty->alerts(-1));
  // start > end is what the real plugin rejects ("check_procs -w 2:1" exits 3).
  auto inverted = parse_nagios_range_lenient("2:1");
  ASSERT_FALSE(inverted.ok());
  EXPECT_EQ(inverted.error().message, "Range format incorrect");
}

TEST(Duration, ParsesUnits) {
  struct C {
    const char* text;
    int64_t ms;
  };
  for (auto c : {C{"500ms", 500}, C{"2s", 2000}, C{"1m", 60000}, C{"1h", 3600000}, C{"0", 0},
                 C{"0s", 0}, C{"90s", 90000}}) {
    auto d = parse_duration(c.text);
    ASSERT_TRUE(d.ok()) << c.text;
    EXPECT_EQ(d->count(), c.ms) << c.text;
  }
  for (const char* bad : {"", "2", "s", "2x", "1.5s", "-1s", "2 s", "1d", "99999999999999h"}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_NE(d.error().message.find("bad duration"), std::string::npos);
  }
}

TEST(Duration, FormatsShortestExactUnit) {
  using std::chrono::milliseconds;
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(500)), "500ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(2000)), "2s");
  EXPECT_EQ(format_duration(milliseconds(90000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(120000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(7200000)), "2h");
}

TEST(StatusNames, Values) {
  EXPECT_EQ(static_cast<int>(Status::kOk), 0);
  EXPECT_EQ(static_cast<int>(Status::kWarning), 1);
  EXPECT_EQ(static_cast<int>(Status::kCritical), 2);
  EXPECT_EQ(static_cast<int>(Status::kUnknown), 3);
  EXPECT_EQ(status_name(Status::kCritical), "CRITICAL");
  EXPECT_EQ(severity_status(Severity::kWarning), Status::kWarning);
}

}  // namespace
}  // namespace procwatch::rules
