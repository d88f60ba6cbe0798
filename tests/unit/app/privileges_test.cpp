#include "app/privileges.h"

#include <gtest/gtest.h>

namespace procwatch::app {
namespace {

HostInfo host(KernelVersion k, uint64_t rmem_max = 4u << 20, uint64_t rcvbuf = 64u << 20) {
  HostInfo h;
  h.kernel = k;
  h.rmem_max = rmem_max;
  h.rcvbuf_wanted = rcvbuf;
  h.ebpf_built = true;
  return h;
}

const CapSet kNone{};
const CapSet kUnit{kCapBpf, kCapPerfmon, kCapSysPtrace, kCapNetAdmin};
const CapSet kAll(~uint64_t{0});

TEST(Privileges, ParseKernelRelease) {
  struct Case {
    const char* release;
    std::optional<std::pair<int, int>> want;
  };
  const Case cases[] = {
      {"6.18.44-fc-v1045", std::pair{6, 18}},
      {"6.1.0-28-amd64", std::pair{6, 1}},
      {"5.10", std::pair{5, 10}},
      {"6.6-rc1", std::pair{6, 6}},
      {"6", std::nullopt},
      {"6.", std::nullopt},
      {"", std::nullopt},
      {"linux-6.1", std::nullopt},
  };
  for (const auto& c : cases) {
    auto v = parse_kernel_release(c.release);
    ASSERT_EQ(v.has_value(), c.want.has_value()) << c.release;
    if (v) {
      EXPECT_EQ(std::pair(v->major, v->minor), *c.want) << c.release;
    }
  }
  EXPECT_TRUE((KernelVersion{6, 1}) < kUnprivilegedCnProc);
  EXPECT_FALSE((KernelVersion{6, 6}) < kUnprivilegedCnProc);
  EXPECT_FALSE((KernelVersion{7, 0}) < kUnprivilegedCnProc);
  EXPECT_TRUE((KernelVersion{5, 19}) < kUnprivilegedCnProc);
}

TEST(Privileges, JoinCapNames) {
  EXPECT_EQ(join_cap_names({}), "");
  EXPECT_EQ(join_cap_names({kCapBpf}), "CAP_BPF");
  EXPECT_EQ(join_cap_names({kCapBpf, kCapPerfmon}), "CAP_BPF and CAP_PERFMON");
  EXPECT_EQ(join_cap_names({kCapBpf, kCapPerfmon, kCapNetAdmin}),
            "CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN");
}

TEST(Privileges, EbpfNeedsBpfAndPerfmon) {
  const SourceNeeds n = source_needs("ebpf", host({6, 18}));
  EXPECT_EQ(n.required, (std::vector<int>{kCapBpf, kCapPerfmon}));
  EXPECT_EQ(missing_line(n, kNone), "ebpf: needs CAP_BPF and CAP_PERFMON (missing: CAP_BPF, CAP_PERFMON)");
  EXPECT_EQ(missing_line(n, CapSet{kCapPerfmon}),
            "ebpf: needs CAP_BPF and CAP_PERFMON (missing: CAP_BPF)");
  EXPECT_EQ(missing_line(n, CapSet{kCapBpf}),
            "ebpf: needs CAP_BPF and CAP_PERFMON (missing: CAP_PERFMON)");
  EXPECT_EQ(missing_line(n, kUnit), "");
  EXPECT_EQ(missing_line(n, CapSet{kCapSysAdmin}), "");  // the kernel accepts it for both
  EXPECT_EQ(loss_line(n, kUnit), "");
  EXPECT_EQ(loss_line(n, kAll), "");
  const std::string loss = loss_line(n, CapSet{kCapBpf, kCapPerfmon});
  EXPECT_EQ(loss.rfind("ebpf: without CAP_SYS_PTRACE ", 0), 0u) << loss;
  EXPECT_EQ(n.unavailable, "");
  HostInfo no_ebpf = host({6, 18});
  no_ebpf.ebpf_built = false;
  EXPECT_EQ(source_needs("ebpf", no_ebpf).unavailable, "this build has no eBPF source");
}

TEST(Privileges, NetlinkNeedsNetAdminOnlyBefore66) {
  const SourceNeeds old_kernel = source_needs("netlink", host({6, 1}));
  EXPECT_EQ(old_kernel.required, (std::vector<int>{kCapNetAdmin}));
  EXPECT_EQ(missing_line(old_kernel, CapSet{kCapSysPtrace}),
            "netlink: needs CAP_NET_ADMIN before Linux 6.6 (missing: CAP_NET_ADMIN)");
  EXPECT_EQ(missing_line(old_kernel, CapSet{kCapNetAdmin}), "");

  const SourceNeeds current = source_needs("netlink", host({6, 18}));
  EXPECT_TRUE(current.required.empty());
  EXPECT_EQ(missing_line(current, kNone), "");
  EXPECT_EQ(loss_line(current, kAll), "");
  // The unit leaves CAP_SYS_NICE out (RestrictRealtime=yes refuses SCHED_FIFO anyway).
  EXPECT_EQ(loss_line(current, kUnit),
            "netlink: without CAP_SYS_NICE the reader is not real-time: under CPU load more "
            "short-lived processes exit before their exe is read");
  const std::string loss = loss_line(current, kNone);
  EXPECT_EQ(loss.rfind("netlink: without CAP_SYS_PTRACE other users' exe paths are hidden", 0),
            0u)
      << loss;
  // The buffer clause names both sizes: 2 x rmem_max (8 MiB) against 2 x --rcvbuf (128 MiB),
  // and about how many events each holds (~1.16 KiB each, measured).
  EXPECT_NE(loss.find("; without CAP_NET_ADMIN the socket buffer is 8 MiB (2 x "
                      "net.core.rmem_max), not 128 MiB: a reader stall of more than ~7.2k events "
                      "loses events (~115k with it); without CAP_SYS_NICE "),
            std::string::npos)
      << loss;
  EXPECT_EQ(loss.find('\n'), std::string::npos);
  // Only CAP_SYS_PTRACE missing: one clause.
  EXPECT_EQ(loss_line(current, CapSet{kCapNetAdmin, kCapSysNice}),
            "netlink: without CAP_SYS_PTRACE other users' exe paths are hidden (their arguments "
            "still come from /proc/PID/cmdline)");
}

TEST(Privileges, NetlinkBufferClauseOnlyWhenCapped) {
  // rmem_max at least --rcvbuf: SO_RCVBUF gives the same as SO_RCVBUFFORCE, nothing lost.
  const CapSet ptrace_nice{kCapSysPtrace, kCapSysNice};
  const SourceNeeds big = source_needs("netlink", host({6, 18}, 64u << 20, 64u << 20));
  EXPECT_EQ(loss_line(big, ptrace_nice), "");
  const SourceNeeds unknown = source_needs("netlink", host({6, 18}, 0));
  EXPECT_EQ(loss_line(unknown, ptrace_nice), "");
  // Before 6.6 CAP_NET_ADMIN is required, so it is never a mere loss.
  const SourceNeeds old_kernel = source_needs("netlink", host({6, 1}));
  EXPECT_EQ(loss_line(old_kernel, ptrace_nice), "");
}

TEST(Privileges, ProcfsAlwaysLosesShortLivedProcesses) {
  const SourceNeeds n = source_needs("procfs", host({6, 18}));
  EXPECT_TRUE(n.required.empty());
  EXPECT_EQ(missing_line(n, kNone), "");
  EXPECT_EQ(loss_line(n, kAll), "procfs: processes shorter than the poll interval are missed");
  const std::string loss = loss_line(n, kNone);
  EXPECT_EQ(loss.rfind("procfs: without CAP_SYS_PTRACE other users' processes have no exe path; "
                       "processes shorter than the poll interval are missed",
                       0),
            0u)
      << loss;
}

TEST(Privileges, AllSourcesInAutoOrder) {
  auto all = all_source_needs(host({6, 18}));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].source, "ebpf");
  EXPECT_EQ(all[1].source, "netlink");
  EXPECT_EQ(all[2].source, "procfs");
  EXPECT_EQ(source_needs("bogus", host({6, 18})).unavailable, "unknown source");
}

}  // namespace
}  // namespace procwatch::app

namespace procwatch::app {
namespace {

TEST(Privileges, TreeLossLine) {
  EXPECT_EQ(tree_loss_line(CapSet{kCapSysPtrace}), "");
  EXPECT_EQ(tree_loss_line(CapSet{}),
            "tree: without CAP_SYS_PTRACE other users' processes have no exe path");
}

}  // namespace
}  // namespace procwatch::app
