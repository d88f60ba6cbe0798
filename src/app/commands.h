// Sub-command entry points. Each returns the process exit code.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "app/options.h"

namespace procwatch::app {

int run_trace(const CommonOptions& opts);
int run_tree(const CommonOptions& opts);
// `sources`: each event source with "usable" or why not, and the capabilities it needs;
// 0 when at least one source is usable, else 1.
int run_sources(const CommonOptions& opts);

// `check`: its raw arguments (check_procs options, ps.monitor specs, --config/--format/...);
// returns the plugin status (0 OK .. 3 UNKNOWN) or, with --format mon, 0/1.
int run_check(const std::vector<std::string>& args);
// `rules export` / `rules check` over a config file; 2 on a config error. With `fleet`, the
// export adds the fleet recording rules and the rare-tree alert (fewer than min_hosts hosts).
struct RulesExportOptions {
  bool fleet = false;
  int min_hosts = 2;
  std::string fleet_for = "30m";
};
int run_rules_export(const std::string& config_path, const RulesExportOptions& options = {});
int run_rules_check(const std::string& config_path);
inline constexpr const char* kDefaultRulesConfig = "/etc/procwatch/procwatch.yml";

struct ServeOptions {
  CommonOptions common;
  std::string listen_address = ":9501";
  size_t max_trees = 2000;
  std::string tree_ttl = "1h";
  bool prom_cnproc = false;
  bool container_labels = false;  // --metrics.container-labels
  std::string rules_config;        // --config: evaluate these rules; empty = none
  std::string cpu_interval = "5s";  // --cpu-interval: re-read CPU/memory for the rules
  std::string events_log;           // --events-log: JSON lines to this file, "-" = stdout
  std::string baseline;             // --baseline: learn, then flag execs outside it
  std::string baseline_learn = "24h";
  std::string baseline_save_interval = "60s";
  std::string web_config;           // --web.config.file: TLS, basic auth, headers
};
int run_serve(const ServeOptions& opts);

// `baseline list|diff|approve|forget|import|freeze|learn [--file FILE] [--from URL]`: offline
// edits of a baseline file, or the same operations in a running serve (cmd_baseline.cpp lists
// the exit codes).
inline constexpr const char* kDefaultBaselineFile = "/var/lib/procwatch/baseline.yml";
struct BaselineCommand {
  std::string action;             // list, diff, approve, forget, import, freeze, learn
  std::string file;               // "" = kDefaultBaselineFile (when no --from)
  std::string from;               // http(s)://HOST:PORT of a running serve --baseline
  std::string user, password_file, ca_file;  // for --from: basic auth, TLS CA
  std::vector<std::string> args;  // trees (approve, forget) or the file to merge (import)
  bool json = false;
};
int run_baseline(const BaselineCommand& cmd);

}  // namespace procwatch::app
