// procwatch: sees every process launch on Linux. Sub-commands share one engine; see README.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "app/commands.h"
#include "app/container_names.h"
#include "core/text.h"
#include "app/options.h"
#include "app/signals.h"

namespace {

using procwatch::app::CommonOptions;

void add_source_options(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--source", o.source, "Event source: auto, ebpf, netlink or procfs")
      ->check(CLI::IsMember({"auto", "ebpf", "netlink", "procfs"}))
      ->capture_default_str();
  cmd->add_option("--interval", o.interval_ms,
                  "procfs source: poll interval in milliseconds (misses processes shorter "
                  "than this)")
      ->check(CLI::Range(10, 3600000))
      ->capture_default_str();
  cmd->add_option("--rcvbuf", o.rcvbuf_bytes, "netlink source: socket receive buffer in bytes")
      ->check(CLI::Range(uint64_t(64) << 10, uint64_t(1) << 31))
      ->capture_default_str();
}

void add_redact_config_option(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--config", o.config,
                  "Config file whose redact/redact_defaults settings mask secrets in argv "
                  "(defaults apply without it)");
}

void add_procfs_option(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--procfs", o.procfs_root, "Root of the /proc tree to read")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  procwatch::app::add_container_options(cmd, o);
}

}  // namespace

int main(int argc, char** argv) {
  procwatch::app::block_stop_signals();

  CLI::App app{"procwatch: see every process launched on this machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("procwatch ") + PROCWATCH_VERSION);

  CommonOptions trace_opts;
  auto* trace = app.add_subcommand(
      "trace", "Print process events live (fork, exec, exit, uid, gid, sid, comm, ptrace, "
               "coredump, lost)");
  trace->add_flag("--json", trace_opts.json, "One JSON object per line");
  trace->add_option("--color", trace_opts.color, "Colour: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  add_source_options(trace, trace_opts);
  add_procfs_option(trace, trace_opts);
  add_redact_config_option(trace, trace_opts);

  CommonOptions tree_opts;
  auto* tree = app.add_subcommand("tree", "Print the current processes as a tree");
  tree->add_flag("--json", tree_opts.json, "A JSON array of root processes with children");
  tree->add_option("--color", tree_opts.color, "Colour: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  add_procfs_option(tree, tree_opts);
  tree->add_flag("--containers", tree_opts.tree_by_container, "Group the tree by container");
  add_redact_config_option(tree, tree_opts);

  CommonOptions sources_opts;
  auto* sources = app.add_subcommand(
      "sources", "Which event sources work on this machine with these privileges, and the "
                 "capabilities each needs");
  sources->footer(
      "One line per source, in the order --source auto tries them:\n"
      "  NAME usable|unusable needs CAPS[; why not usable][; what these privileges lose]\n"
      "A source whose capabilities are there is started and stopped to be sure.\n"
      "Exit status: 0 when at least one source is usable, else 1.");
  sources->add_flag("--json", sources_opts.json,
                    "A JSON object: capabilities (effective) and sources [{source, usable, needs, "
                    "missing, reason, loss}]");
  sources->add_option("--rcvbuf", sources_opts.rcvbuf_bytes,
                      "netlink source: socket receive buffer in bytes (as for trace and serve)")
      ->check(CLI::Range(uint64_t(64) << 10, uint64_t(1) << 31))
      ->capture_default_str();

  procwatch::app::ServeOptions serve_opts;
  auto* serve = app.add_subcommand("serve", "Prometheus exporter: per-tree process metrics");
  serve->add_option("--web.listen-address", serve_opts.listen_address,
                    "Address to listen on for /metrics, / and /-/healthy ([host]:port)")
      ->capture_default_str();
  serve->add_option("--max-trees", serve_opts.max_trees,
                    "Most tree names exposed; further trees count under tree=\"/other\"")
      ->check(CLI::Range(size_t(1), size_t(1000000)))
      ->capture_default_str();
  serve->add_option("--tree-ttl", serve_opts.tree_ttl,
                    "Drop a tree with no live process and no event for this long (e.g. 30m, 1h)")
      ->capture_default_str();
  serve->add_flag("--metrics.container-labels", serve_opts.container_labels,
                  "Add container (name) and namespace labels to the per-tree series; "
                  "--max-trees then caps distinct label sets");
  serve->add_flag("--metrics.prom-cnproc", serve_opts.prom_cnproc,
                  "Also expose prom-cnproc's process{state,tree} and process_seconds{tree}");
  serve->add_option("--config", serve_opts.rules_config,
                    "Rule config: evaluate its rules, export procwatch_rule_* and /api/v1/rules; "
                    "re-read on SIGHUP");
  serve->add_option("--cpu-interval", serve_opts.cpu_interval,
                    "How often the rules re-read CPU and memory from /proc (e.g. 5s)")
      ->capture_default_str();
  serve->add_option("--baseline", serve_opts.baseline,
                    "Baseline file: learn the process trees this machine runs, then flag execs "
                    "outside them (procwatch_unexpected_execs_total, \"expected\": false)");
  serve->add_option("--baseline.learn", serve_opts.baseline_learn,
                    "How long the baseline learns from its first start (e.g. 24h, 7d)")
      ->capture_default_str();
  serve->add_option("--baseline.save-interval", serve_opts.baseline_save_interval,
                    "Write the baseline at most this often (and at SIGTERM)")
      ->capture_default_str();
  serve->add_option("--events-log", serve_opts.events_log,
                    "Also write every event as a JSON line (as trace --json) to FILE, '-' for "
                    "stdout; reopened on SIGHUP");
  serve->add_option("--web.config.file", serve_opts.web_config,
                    "Web config (exporter-toolkit format): TLS, basic auth users, response "
                    "headers; re-read on SIGHUP");
  add_source_options(serve, serve_opts.common);
  add_procfs_option(serve, serve_opts.common);

  // check parses its own arguments (check_procs short options and positional thresholds).
  auto* check = app.add_subcommand(
      "check", "One-shot Nagios/mon plugin: ps.monitor specs, check_procs options or --config "
               "(see procwatch check --help)");
  check->prefix_command();
  check->set_help_flag();

  std::string rules_config = procwatch::app::kDefaultRulesConfig;
  auto* rules_cmd = app.add_subcommand("rules", "Rule config tools");
  rules_cmd->require_subcommand(1);
  auto* rules_export =
      rules_cmd->add_subcommand("export", "Print the rules as Prometheus alerting rules (YAML)");
  rules_export->add_option("--config", rules_config, "Rule config file")->capture_default_str();
  procwatch::app::RulesExportOptions export_opts;
  rules_export->add_flag("--fleet", export_opts.fleet,
                         "Add recording rules counting on how many hosts each tree ran in the "
                         "last day, and an alert for trees that ran on few of them");
  rules_export
      ->add_option("--fleet.min-hosts", export_opts.min_hosts,
                   "The fleet alert fires for a tree that ran on fewer hosts than this, in a "
                   "job with at least this many hosts")
      ->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  rules_export
      ->add_option("--fleet.for", export_opts.fleet_for,
                   "How long a tree must stay rare before the fleet alert fires")
      ->capture_default_str();
  auto* rules_check = rules_cmd->add_subcommand("check", "Validate a rule config file");
  rules_check->add_option("--config", rules_config, "Rule config file")->capture_default_str();

  procwatch::app::BaselineCommand baseline_cmd;
  auto* baseline_app = app.add_subcommand(
      "baseline",
      "The learned baseline of process trees: the file (--file) or a running serve (--from)");
  baseline_app->require_subcommand(1);
  struct BaselineAction {
    const char* name;
    const char* help;
    const char* args_help;
  };
  for (const BaselineAction& a : {
           BaselineAction{"list", "Print the entries with first and last seen", nullptr},
           BaselineAction{"diff",
                          "Print the flagged entries (seen while enforcing, not in the "
                          "baseline); exit 1 when there are some",
                          nullptr},
           BaselineAction{"approve", "Move the flagged entries of these trees into the baseline",
                          "TREE..."},
           BaselineAction{"forget", "Remove every entry of these trees", "TREE..."},
           BaselineAction{"import", "Merge another baseline file into this one", "FILE"},
           BaselineAction{"freeze", "End learning now: enforce from here on", nullptr},
           BaselineAction{"learn", "Start a new learning period now", nullptr}}) {
    auto* sub = baseline_app->add_subcommand(a.name, a.help);
    sub->add_option("--file", baseline_cmd.file,
                    "Baseline file (default /var/lib/procwatch/baseline.yml); with --from, diff "
                    "compares with it and approve writes into it");
    sub->add_option("--from", baseline_cmd.from,
                    "A running serve --baseline (http://HOST:PORT): through its API");
    sub->add_option("--user", baseline_cmd.user, "--from: basic auth user (web config)");
    sub->add_option("--password-file", baseline_cmd.password_file,
                    "--from: file whose first line is the password (default: $PROCWATCH_PASSWORD)");
    sub->add_option("--ca-file", baseline_cmd.ca_file, "--from https: CA certificate (PEM)");
    if (a.args_help) sub->add_option("args", baseline_cmd.args, a.args_help)->required();
    if (std::string(a.name) == "list" || std::string(a.name) == "diff")
      sub->add_flag("--json", baseline_cmd.json, "One JSON array of entries");
    sub->callback([&baseline_cmd, name = std::string(a.name)] { baseline_cmd.action = name; });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    if (msg.empty()) msg = e.get_name();
    // One line whatever the bad argument held (newlines, ESC, BiDi overrides are escaped).
    std::fprintf(stderr, "procwatch: %s (see procwatch --help)\n",
                 procwatch::escape_control(msg).c_str());
    return procwatch::app::kExitUsage;
  }

  if (*trace) return procwatch::app::run_trace(trace_opts);
  if (*tree) return procwatch::app::run_tree(tree_opts);
  if (*serve) return procwatch::app::run_serve(serve_opts);
  if (*sources) return procwatch::app::run_sources(sources_opts);
  if (*check) return procwatch::app::run_check(check->remaining());
  if (*baseline_app) return procwatch::app::run_baseline(baseline_cmd);
  if (*rules_export) return procwatch::app::run_rules_export(rules_config, export_opts);
  if (*rules_check) return procwatch::app::run_rules_check(rules_config);
  return procwatch::app::kExitUsage;
}
