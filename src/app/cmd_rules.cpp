// `procwatch rules export|check`: the rule config as Prometheus alerting rules, or just
// validated. Config errors name FILE:LINE:COLUMN and exit 2.
#include <cstdio>
#include <string>

#include "app/commands.h"
#include "core/text.h"
#include "rules/config.h"
#include "rules/engine.h"

namespace procwatch::app {

namespace {

Result<rules::Config> load(const std::string& path) {
  auto config = rules::load_config(path);
  if (!config) std::fprintf(stderr, "procwatch: %s\n", escape_control(config.error().message).c_str());
  return config;
}

}  // namespace

int run_rules_export(const std::string& config_path, const RulesExportOptions& options) {
  auto config = load(config_path);
  if (!config) return kExitUsage;
  rules::ExportOptions o;
  o.fleet = options.fleet;
  o.min_hosts = options.min_hosts;
  auto fleet_for = rules::parse_duration(options.fleet_for);
  if (!fleet_for) {
    std::fprintf(stderr, "procwatch: --fleet.for: %s\n",
                 escape_control(fleet_for.error().message).c_str());
    return kExitUsage;
  }
  o.fleet_for = *fleet_for;
  std::fputs(rules::export_prometheus_rules(*config, o).c_str(), stdout);
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
}

int run_rules_check(const std::string& config_path) {
  auto config = load(config_path);
  if (!config) return kExitUsage;
  const size_t n = config->rules.size();
  std::printf("%s: %zu %s%s%s, OK\n", config_path.c_str(), n, n == 1 ? "rule" : "rules",
              config->cpu ? " and a cpu section" : "",
              config->unexpected ? " and an unexpected section" : "");
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
}

}  // namespace procwatch::app
