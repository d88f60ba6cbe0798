#include "app/source_factory.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <vector>

#include "sources/netlink/netlink_source.h"
#ifdef PROCWATCH_HAVE_POLL
#include "sources/poll/poll_source.h"
#endif
#ifdef PROCWATCH_HAVE_EBPF
#include "sources/ebpf/ebpf_source.h"
#endif

namespace procwatch::app {

namespace {

std::unique_ptr<EventSource> make(const std::string& name, const CommonOptions& opts,
                                  const procfs::ProcReader& reader) {
  if (name == "netlink") {
    netlink::NetlinkOptions no;
    no.rcvbuf_bytes = opts.rcvbuf_bytes;
    return std::make_unique<netlink::NetlinkSource>(reader, no);
  }
#ifdef PROCWATCH_HAVE_POLL
  if (name == "procfs")
    return std::make_unique<PollSource>(reader, std::chrono::milliseconds(opts.interval_ms));
#endif
#ifdef PROCWATCH_HAVE_EBPF
  if (name == "ebpf") return std::make_unique<EbpfSource>(EbpfOptions{});
#endif
  return nullptr;
}

}  // namespace

std::string available_sources() {
#ifdef PROCWATCH_HAVE_EBPF
  return "ebpf, netlink, procfs";
#else
  return "netlink, procfs (this build has no eBPF)";
#endif
}

Result<StartedSource> start_source(const CommonOptions& opts, const procfs::ProcReader& reader,
                                   EventQueue& queue) {
  std::vector<std::string> order;
  if (opts.source == "auto")
    order = {"ebpf", "netlink", "procfs"};
  else
    order = {opts.source};
  Error last{"no event source available", 0};
  for (const auto& name : order) {
    auto src = make(name, opts, reader);
    if (!src) {
      last = Error{"source '" + name + "' is not available in this build (available: " +
                       available_sources() + ")",
                   ENOTSUP};
      if (opts.source == "auto") continue;
      return last;
    }
    auto started = src->start(queue);
    if (started.ok()) {
      std::fprintf(stderr, "procwatch: using the %s source\n", name.c_str());
      return StartedSource{std::move(src), name};
    }
    last = started.error();
    if (opts.source != "auto") return last;
    std::fprintf(stderr, "procwatch: %s source refused: %s; trying the next\n", name.c_str(),
                 last.message.c_str());
  }
  return last;
}

}  // namespace procwatch::app
