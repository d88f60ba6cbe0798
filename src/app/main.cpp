// procwatch: sees every process launch on Linux. Sub-commands share one engine; see README.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "app/commands.h"
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

void add_procfs_option(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--procfs", o.procfs_root, "Root of the /proc tree to read")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
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

  CommonOptions tree_opts;
  auto* tree = app.add_subcommand("tree", "Print the current processes as a tree");
  tree->add_flag("--json", tree_opts.json, "A JSON array of root processes with children");
  tree->add_option("--color", tree_opts.color, "Colour: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  add_procfs_option(tree, tree_opts);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    if (msg.empty()) msg = e.get_name();
    std::fprintf(stderr, "procwatch: %s (see procwatch --help)\n", msg.c_str());
    return procwatch::app::kExitUsage;
  }

  if (*trace) return procwatch::app::run_trace(trace_opts);
  if (*tree) return procwatch::app::run_tree(tree_opts);
  return procwatch::app::kExitUsage;
}
