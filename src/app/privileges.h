// What each event source needs from the kernel and from our capabilities, and the one-line
// messages procwatch prints when something is missing. Pure functions over a HostInfo and a
// CapSet, so they are unit-tested; host_info() is the only part that looks at the machine.
// The findings behind the tables are in docs/privileges.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/capabilities.h"

namespace procwatch::app {

struct KernelVersion {
  int major = 0, minor = 0;
  friend bool operator<(KernelVersion a, KernelVersion b) {
    return a.major != b.major ? a.major < b.major : a.minor < b.minor;
  }
};
// "6.18.44-fc-v1045" -> {6, 18}; nullopt when it does not start with N.N.
std::optional<KernelVersion> parse_kernel_release(std::string_view release);

// The facts about this machine the requirements depend on.
struct HostInfo {
  KernelVersion kernel{6, 6};  // uname release; unknown = assume a current kernel
  uint64_t rmem_max = 0;       // net.core.rmem_max; 0 = unknown
  uint64_t rcvbuf_wanted = 0;  // netlink's --rcvbuf; 0 = not relevant
  bool ebpf_built = true;      // this binary has the eBPF source
};
// uname(2) and /proc/sys/net/core/rmem_max; `rcvbuf_wanted` and `ebpf_built` from the caller.
HostInfo host_info(uint64_t rcvbuf_wanted, bool ebpf_built);

// The proc connector lets an unprivileged listener subscribe from Linux 6.6 on.
inline constexpr KernelVersion kUnprivilegedCnProc{6, 6};

// A capability a source can run without, and what it loses then.
struct CapLoss {
  int cap;
  std::string loss;  // completes "without CAP_X ..."
};

struct SourceNeeds {
  std::string source;             // "ebpf", "netlink", "procfs"
  std::vector<int> required;      // cannot start without any of these (message order)
  std::vector<CapLoss> optional;  // starts without; loses something
  std::string inherent_loss;      // lost whatever the privileges ("" = nothing)
  std::string unavailable;        // why it cannot run here at all ("" = it can)
};

// The requirements of "ebpf", "netlink" or "procfs" on this host.
SourceNeeds source_needs(std::string_view source, const HostInfo& host);
// Every source, in the order `auto` tries them.
std::vector<SourceNeeds> all_source_needs(const HostInfo& host);

// "CAP_BPF", "CAP_BPF and CAP_PERFMON", "A, B and C".
std::string join_cap_names(const std::vector<int>& caps);
// Required capabilities not in `have`, in the source's order. CAP_SYS_ADMIN stands in for
// CAP_BPF and CAP_PERFMON, as in the kernel.
std::vector<int> missing_required(const SourceNeeds& needs, CapSet have);
// "ebpf: needs CAP_BPF and CAP_PERFMON (missing: CAP_BPF)"; "" when nothing required is missing.
std::string missing_line(const SourceNeeds& needs, CapSet have);
// What this source loses with `have`, one clause per missing capability plus the inherent
// loss: "netlink: without CAP_SYS_PTRACE other users' exe paths are hidden"; "" when nothing.
std::string loss_line(const SourceNeeds& needs, CapSet have);

// For `tree` over our own /proc: "tree: without CAP_SYS_PTRACE ..."; "" when nothing is lost.
std::string tree_loss_line(CapSet have);

}  // namespace procwatch::app
