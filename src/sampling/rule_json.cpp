#include "sampling/rule_json.h"

#include <chrono>
#include <string>

namespace procwatch::sampling {

using nlohmann::json;

json rule_results_json(const std::vector<rules::RuleResult>& results, rules::TimePoint now) {
  json arr = json::array();
  for (const auto& r : results) {
    json j;
    j["rule"] = r.rule;
    j["ok"] = r.ok;
    j["raw_ok"] = r.raw_ok;
    j["status"] = rules::status_name(rules::result_status(r));
    j["severity"] = rules::severity_name(r.severity);
    j["count"] = r.count;
    j["expected"] = r.expected;
    j["message"] = r.message;
    j["violations_total"] = r.violations_total;
    if (r.violating_since) {
      j["violating_for_s"] =
          std::chrono::duration<double>(now - *r.violating_since).count();
    } else {
      j["violating_for_s"] = nullptr;
    }
    j["pids"] = r.pids;
    j["pids_truncated"] = r.pids_truncated;
    json per = json::object();
    for (const auto& [key, n] : r.counts_per) per[key] = n;
    j["counts_per"] = per;
    j["failing_keys"] = r.failing_keys;
    j["cpu"] = r.is_cpu;
    json hogs = json::array();
    for (const auto& h : r.hogs) {
      hogs.push_back({{"pid", h.pid},
                      {"name", h.name},
                      {"tree", h.tree},
                      {"percent", h.percent},
                      {"lifetime", h.lifetime}});
    }
    j["hogs"] = hogs;
    arr.push_back(std::move(j));
  }
  return json{{"status", rules::status_name(rules::overall_status(results))},
              {"rules", std::move(arr)}};
}

namespace {

Error bad(const std::string& where, const char* what) {
  return make_error(where + ": expected " + what);
}

}  // namespace

Result<std::vector<rules::RuleResult>> parse_rule_results_json(std::string_view text,
                                                               rules::TimePoint now) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return make_error("not valid JSON");
  if (!doc.is_object() || !doc.contains("rules") || !doc["rules"].is_array()) {
    return make_error("expected an object with a \"rules\" array");
  }
  std::vector<rules::RuleResult> out;
  size_t i = 0;
  // value() throws on a field of the wrong type; keep the promise of never throwing.
  try {
  for (const json& j : doc["rules"]) {
    const std::string at = "rules[" + std::to_string(i++) + "]";
    if (!j.is_object()) return bad(at, "an object");
    rules::RuleResult r;
    auto str = [&](const char* key, std::string& dst) -> bool {
      auto it = j.find(key);
      if (it == j.end() || !it->is_string()) return false;
      dst = it->get<std::string>();
      return true;
    };
    auto boolean = [&](const char* key, bool& dst) -> bool {
      auto it = j.find(key);
      if (it == j.end() || !it->is_boolean()) return false;
      dst = it->get<bool>();
      return true;
    };
    if (!str("rule", r.rule)) return bad(at + ".rule", "a string");
    if (!boolean("ok", r.ok)) return bad(at + ".ok", "a boolean");
    if (j.contains("raw_ok") && !boolean("raw_ok", r.raw_ok)) {
      return bad(at + ".raw_ok", "a boolean");
    }
    std::string sev;
    if (!str("severity", sev) || (sev != "warning" && sev != "critical")) {
      return bad(at + ".severity", "\"warning\" or \"critical\"");
    }
    r.severity = sev == "warning" ? rules::Severity::kWarning : rules::Severity::kCritical;
    auto count = j.find("count");
    if (count == j.end() || !count->is_number_integer()) return bad(at + ".count", "an integer");
    r.count = count->get<int64_t>();
    if (!str("expected", r.expected)) return bad(at + ".expected", "a string");
    if (!str("message", r.message)) return bad(at + ".message", "a string");
    if (auto v = j.find("violations_total"); v != j.end() && v->is_number_unsigned()) {
      r.violations_total = v->get<uint64_t>();
    }
    if (auto v = j.find("violating_for_s"); v != j.end() && v->is_number()) {
      r.violating_since = now - std::chrono::duration_cast<rules::SteadyClock::duration>(
                                    std::chrono::duration<double>(v->get<double>()));
    }
    if (auto v = j.find("pids"); v != j.end() && v->is_array()) {
      for (const json& p : *v) {
        if (!p.is_number_integer()) return bad(at + ".pids", "integers");
        r.pids.push_back(p.get<int32_t>());
      }
    }
    if (auto v = j.find("counts_per"); v != j.end()) {
      if (!v->is_object()) return bad(at + ".counts_per", "an object");
      for (const auto& [key, n] : v->items()) {
        if (!n.is_number_integer()) return bad(at + ".counts_per." + key, "an integer");
        r.counts_per.emplace_back(key, n.get<int64_t>());
      }
    }
    if (auto v = j.find("failing_keys"); v != j.end() && v->is_array()) {
      for (const json& k : *v) {
        if (!k.is_string()) return bad(at + ".failing_keys", "strings");
        r.failing_keys.push_back(k.get<std::string>());
      }
    }
    if (auto v = j.find("cpu"); v != j.end() && v->is_boolean()) r.is_cpu = v->get<bool>();
    if (auto v = j.find("hogs"); v != j.end() && v->is_array()) {
      for (const json& h : *v) {
        if (!h.is_object()) return bad(at + ".hogs", "objects");
        rules::CpuHog hog;
        hog.pid = h.value("pid", 0);
        hog.name = h.value("name", "");
        hog.tree = h.value("tree", "");
        hog.percent = h.value("percent", 0.0);
        hog.lifetime = h.value("lifetime", false);
        r.hogs.push_back(std::move(hog));
      }
    }
    out.push_back(std::move(r));
  }
  } catch (const nlohmann::json::exception& e) {
    return make_error("rules[" + std::to_string(i - 1) + "]: " + e.what());
  }
  return out;
}

}  // namespace procwatch::sampling
