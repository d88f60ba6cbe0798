// `procwatch trace`: live events as text or JSON lines.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <string>

#include "app/commands.h"
#include "app/signals.h"
#include "app/source_factory.h"
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
  procfs::ProcReader reader(opts.procfs_root);
  EventQueue queue(1 << 18);
  TreeNamer namer;
  Engine engine(reader,
                [&namer](const ProcInfo& s, const ProcInfo* p) { return namer.name(s, p); });

  static char outbuf[1 << 16];
  std::setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  const bool color = !opts.json && want_color(opts.color);
  std::atomic<bool> output_broken{false};
  std::string line;  // reused: no allocation per event once warm
  engine.add_listener([&](const output::EventRecord& r) {
    if (output_broken) return;
    line.clear();
    if (opts.json)
      output::append_event_json_line(line, r);
    else
      line = output::event_text(r, color);
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) output_broken = true;
  });

  auto started = start_source(opts, reader, queue);
  if (!started) {
    std::fprintf(stderr, "procwatch: %s\n", started.error().message.c_str());
    return started.error().errnum == EPERM || started.error().errnum == EACCES ||
                   started.error().errnum == ENOTSUP
               ? kExitUsage
               : kExitFailure;
  }
  EventSource& source = *started->source;
  engine.initial_scan();  // after the source is live, so no launch falls between the two

  std::atomic<bool> stopping{false};
  auto stop = [&] {
    if (stopping.exchange(true)) return;
    source.stop();
    queue.close();
  };
  engine.set_batch_hook([&](const Engine&) {
    if (std::fflush(stdout) != 0 || output_broken) {
      output_broken = true;  // EPIPE: nobody reads us any more
      stop();
    }
  });
  int rc = kExitOk;
  {
    StopSignalWaiter waiter([&](int) { stop(); });
    engine.run(queue);
    stop();
  }
  std::fflush(stdout);
  const SourceStats st = source.stats();
  if (st.lost || engine.stats().lost)
    std::fprintf(stderr, "procwatch: %llu events lost, %llu resyncs from /proc\n",
                 (unsigned long long)engine.stats().lost,
                 (unsigned long long)engine.stats().resyncs);
  if (output_broken && errno != EPIPE) rc = kExitFailure;
  return rc;
}

}  // namespace procwatch::app
