// `procwatch trace`: live events as text or JSON lines.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <string>

#include "app/container_names.h"
#include "app/commands.h"
#include "app/live_capture.h"
#include "app/redaction.h"
#include "engine/engine.h"
#include "export/event_format.h"
#include "naming/tree_namer.h"

namespace procwatch::app {

bool want_color(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR") && term && std::string(term) != "dumb";
}

int run_trace(const CommonOptions& opts) {
  if (auto rc = load_redaction(opts.config)) return *rc;
  procfs::ProcReader reader(opts.procfs_root);
  use_container_names(reader, opts);
  TreeNamer namer;
  Engine engine(reader, tree_name_fn(namer));
  engine.set_snapshot_every(std::chrono::milliseconds(0));  // trace reads records, not snapshots
  LiveCapture live(opts, reader, engine);

  static char outbuf[1 << 16];
  std::setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  const bool color = !opts.json && want_color(opts.color);
  std::atomic<bool> output_broken{false};
  std::string line;  // reused: no allocation per event once warm
  engine.add_listener([&](const EventRecord& r) {
    if (output_broken) return;
    line.clear();
    if (opts.json)
      output::append_event_json_line(line, r);
    else
      line = output::event_text(r, color);
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) output_broken = true;
  });

  if (auto rc = live.start()) return *rc;
  engine.set_batch_hook([&](const Engine&) {
    if (std::fflush(stdout) != 0 || output_broken) {
      output_broken = true;  // EPIPE: nobody reads us any more
      live.stop();
    }
  });
  live.run();
  std::fflush(stdout);
  int rc = kExitOk;
  if (output_broken && errno != EPIPE) rc = kExitFailure;
  return rc;
}

}  // namespace procwatch::app
