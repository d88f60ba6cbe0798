#include "app/privileges.h"

#include <sys/utsname.h>

#include <cstdio>

namespace procwatch::app {

namespace {

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f MiB", double(bytes) / (1 << 20));
  return buf;
}

// Measured here: while the reader was stopped an 8 MiB netlink buffer held about 7,200
// fork/exec/exit events before dropping, about 1.16 KiB of buffer accounting each.
std::string events_in(uint64_t bytes) {
  const uint64_t n = bytes / 1160;
  if (n >= 10000) return "~" + std::to_string(n / 1000) + "k";
  char buf[32];
  if (n >= 1000)
    std::snprintf(buf, sizeof buf, "~%.1fk", double(n / 100) / 10);
  else
    std::snprintf(buf, sizeof buf, "~%llu", (unsigned long long)n);
  return buf;
}

// Without CAP_SYS_PTRACE, /proc/PID/exe of another user's process is EACCES.
constexpr const char* kPtraceTable = "other users' processes have no exe path";

}  // namespace

std::optional<KernelVersion> parse_kernel_release(std::string_view s) {
  KernelVersion v;
  size_t i = 0;
  auto number = [&](int* out) {
    const size_t start = i;
    int64_t n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && n < 100000) n = n * 10 + (s[i++] - '0');
    *out = int(n);
    return i > start;
  };
  if (!number(&v.major) || i >= s.size() || s[i] != '.') return std::nullopt;
  ++i;
  if (!number(&v.minor)) return std::nullopt;
  return v;
}

HostInfo host_info(uint64_t rcvbuf_wanted, bool ebpf_built) {
  HostInfo h;
  utsname u{};
  if (uname(&u) == 0)
    if (auto k = parse_kernel_release(u.release)) h.kernel = *k;
  if (FILE* f = std::fopen("/proc/sys/net/core/rmem_max", "r")) {
    unsigned long long v = 0;
    if (std::fscanf(f, "%llu", &v) == 1) h.rmem_max = v;
    std::fclose(f);
  }
  h.rcvbuf_wanted = rcvbuf_wanted;
  h.ebpf_built = ebpf_built;
  return h;
}

SourceNeeds source_needs(std::string_view source, const HostInfo& host) {
  SourceNeeds n;
  n.source = std::string(source);
  if (source == "ebpf") {
    n.required = {kCapBpf, kCapPerfmon};
    n.optional = {{kCapSysPtrace, std::string(kPtraceTable) + " when they were started before "
                                                              "procwatch"}};
    if (!host.ebpf_built) n.unavailable = "this build has no eBPF source";
  } else if (source == "netlink") {
    if (host.kernel < kUnprivilegedCnProc) n.required = {kCapNetAdmin};
    n.optional = {{kCapSysPtrace, "other users' exe paths are hidden (their arguments still "
                                  "come from /proc/PID/cmdline)"}};
    // SO_RCVBUFFORCE: otherwise the kernel doubles min(--rcvbuf, net.core.rmem_max).
    if (!(host.kernel < kUnprivilegedCnProc) && host.rmem_max && host.rcvbuf_wanted &&
        host.rmem_max < host.rcvbuf_wanted) {
      const uint64_t got = 2 * host.rmem_max, want = 2 * host.rcvbuf_wanted;
      n.optional.push_back(
          {kCapNetAdmin, "the socket buffer is " + mib(got) + " (2 x net.core.rmem_max), not " +
                             mib(want) + ": a reader stall of more than " + events_in(got) +
                             " events loses events (" + events_in(want) + " with it)"});
    }
    // SCHED_FIFO for the reader (see NetlinkOptions::realtime_reader). Under systemd's
    // RestrictRealtime=yes it is refused even with the capability.
    n.optional.push_back({kCapSysNice, "the reader is not real-time: under CPU load more "
                                       "short-lived processes exit before their exe is read"});
  } else if (source == "procfs") {
    n.optional = {{kCapSysPtrace, kPtraceTable}};
    n.inherent_loss = "processes shorter than the poll interval are missed";
  } else {
    n.unavailable = "unknown source";
  }
  return n;
}

std::vector<SourceNeeds> all_source_needs(const HostInfo& host) {
  return {source_needs("ebpf", host), source_needs("netlink", host), source_needs("procfs", host)};
}

std::string join_cap_names(const std::vector<int>& caps) {
  std::string out;
  for (size_t i = 0; i < caps.size(); ++i) {
    if (i > 0) out += i + 1 == caps.size() ? " and " : ", ";
    out += cap_name(caps[i]);
  }
  return out;
}

std::vector<int> missing_required(const SourceNeeds& needs, CapSet have) {
  std::vector<int> out;
  for (int c : needs.required) {
    // The kernel's bpf_capable() and perfmon_capable() also accept CAP_SYS_ADMIN (measured).
    if ((c == kCapBpf || c == kCapPerfmon) && have.has(kCapSysAdmin)) continue;
    if (!have.has(c)) out.push_back(c);
  }
  return out;
}

std::string missing_line(const SourceNeeds& needs, CapSet have) {
  const std::vector<int> missing = missing_required(needs, have);
  if (missing.empty()) return {};
  std::string line = needs.source + ": needs " + join_cap_names(needs.required);
  if (needs.source == "netlink") line += " before Linux 6.6";
  std::string names;
  for (int c : missing) names += (names.empty() ? "" : ", ") + cap_name(c);
  return line + " (missing: " + names + ")";
}

std::string loss_line(const SourceNeeds& needs, CapSet have) {
  std::string clauses;
  for (const auto& o : needs.optional) {
    if (have.has(o.cap)) continue;
    clauses += (clauses.empty() ? "" : "; ") + ("without " + cap_name(o.cap) + " " + o.loss);
  }
  if (!needs.inherent_loss.empty())
    clauses += (clauses.empty() ? "" : "; ") + needs.inherent_loss;
  return clauses.empty() ? std::string() : needs.source + ": " + clauses;
}

std::string tree_loss_line(CapSet have) {
  if (have.has(kCapSysPtrace)) return {};
  return "tree: without " + cap_name(kCapSysPtrace) + " " + kPtraceTable;
}

}  // namespace procwatch::app
