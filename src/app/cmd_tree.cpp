// `procwatch tree`: a snapshot of the current processes as a tree.
#include <cstdio>
#include <string>

#include "app/container_names.h"
#include "app/commands.h"
#include "core/text.h"
#include "app/live_capture.h"
#include "app/privileges.h"
#include "app/redaction.h"
#include "app/source_factory.h"
#include "engine/engine.h"
#include "export/event_format.h"
#include "naming/tree_namer.h"

namespace procwatch::app {

int run_tree(const CommonOptions& opts) {
  if (auto rc = load_redaction(opts.config)) return *rc;
  procfs::ProcReader reader(opts.procfs_root);
  use_container_names(reader, opts);
  if (reader.list_pids().empty()) {
    std::fprintf(stderr, "procwatch: no processes found under %s (is it a /proc tree?)\n",
                 escape_control(opts.procfs_root).c_str());
    return kExitUsage;
  }
  if (opts.procfs_root == "/proc") {
    if (std::string loss = tree_loss_line(current_caps()); !loss.empty())
      std::fprintf(stderr, "procwatch: %s\n", loss.c_str());
  }
  TreeNamer namer;
  // The table links parents and names every process.
  Engine engine(reader, tree_name_fn(namer));
  engine.initial_scan();
  std::vector<ProcInfo> procs = engine.snapshot()->copy_processes();
  if (opts.json) {
    std::string out = (opts.tree_by_container ? output::containers_tree_json(procs)
                                              : output::tree_json(procs))
                          .dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::printf("%s\n", out.c_str());
  } else {
    const bool color = want_color(opts.color);
    std::fputs((opts.tree_by_container ? output::containers_tree_text(procs, color)
                                       : output::tree_text(procs, color))
                   .c_str(),
               stdout);
  }
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
}

}  // namespace procwatch::app
