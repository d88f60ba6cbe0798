// Rule states as JSON: what `procwatch serve` publishes at /api/v1/rules and what
// `procwatch check --from URL` reads back. Pure functions; never throw (bad input is an Error).
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "rules/engine.h"

namespace procwatch::sampling {

// {"status": "OK", "rules": [{"rule", "ok", "raw_ok", "severity", "count", "expected",
//  "message", "violations_total", "violating_for_s" (null when not violating), "pids",
//  "pids_truncated", "counts_per" ({key: n}), "failing_keys", "cpu", "hogs" [...]}]}.
// violating_since is made relative to `now`.
nlohmann::json rule_results_json(const std::vector<rules::RuleResult>& results,
                                 rules::TimePoint now);

// The inverse, for `check --from`: every field the formatters use must be present and of the
// right type ("rules[2].ok: expected a boolean").
Result<std::vector<rules::RuleResult>> parse_rule_results_json(std::string_view text,
                                                               rules::TimePoint now);

}  // namespace procwatch::sampling
