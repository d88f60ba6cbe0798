#include "app/source_factory.h"
#include "core/text.h"

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

constexpr bool kEbpfBuilt =
#ifdef PROCWATCH_HAVE_EBPF
    true;
#else
    false;
#endif

}  // namespace

std::string available_sources() {
#ifdef PROCWATCH_HAVE_EBPF
  return "ebpf, netlink, procfs";
#else
  return "netlink, procfs (this build has no eBPF)";
#endif
}

CapSet current_caps() {
  auto caps = effective_caps();
  return caps ? *caps : CapSet(~uint64_t{0});
}

HostInfo current_host(const CommonOptions& opts) { return host_info(opts.rcvbuf_bytes, kEbpfBuilt); }

Result<bool> probe_source(const std::string& name, const CommonOptions& opts,
                          const procfs::ProcReader& reader) {
  auto src = make(name, opts, reader);
  if (!src) return Error{"source '" + name + "' is not available in this build", ENOTSUP};
  EventQueue scratch(1 << 12);
  auto started = src->start(scratch);
  if (!started) return started.error();
  src->stop();
  return true;
}

Result<StartedSource> start_source(const CommonOptions& opts, const procfs::ProcReader& reader,
                                   EventQueue& queue) {
  std::vector<std::string> order;
  if (opts.source == "auto")
    order = {"ebpf", "netlink", "procfs"};
  else
    order = {opts.source};
  const CapSet have = current_caps();
  const HostInfo host = current_host(opts);
  const bool is_auto = opts.source == "auto";
  Error last{"no event source available", 0};
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string& name = order[i];
    const std::string next = i + 1 < order.size() ? order[i + 1] : "";
    auto src = make(name, opts, reader);
    if (!src) {
      last = Error{"source '" + name + "' is not available in this build (available: " +
                       available_sources() + ")",
                   ENOTSUP};
      if (is_auto) continue;
      return last;
    }
    const SourceNeeds needs = source_needs(name, host);
    if (std::string missing = missing_line(needs, have); !missing.empty()) {
      last = Error{missing, EPERM};
      if (!is_auto) return last;
      std::fprintf(stderr, "procwatch: %s; %s\n", missing.c_str(),
                   next.empty() ? "no source left" : ("falling back to " + next).c_str());
      continue;
    }
    auto started = src->start(queue);
    if (started.ok()) {
      std::fprintf(stderr, "procwatch: using the %s source\n", name.c_str());
      if (std::string loss = loss_line(needs, have); !loss.empty())
        std::fprintf(stderr, "procwatch: %s\n", loss.c_str());
      return StartedSource{std::move(src), name};
    }
    last = started.error();
    if (!is_auto) return last;
    std::fprintf(stderr, "procwatch: %s source refused: %s; trying the next\n", name.c_str(),
                 escape_control(last.message).c_str());
  }
  return last;
}

}  // namespace procwatch::app
