#include "core/capabilities.h"

#include <gtest/gtest.h>

namespace procwatch {
namespace {

TEST(Capabilities, NamesRoundTrip) {
  EXPECT_EQ(cap_name(kCapBpf), "CAP_BPF");
  EXPECT_EQ(cap_name(kCapPerfmon), "CAP_PERFMON");
  EXPECT_EQ(cap_name(kCapSysPtrace), "CAP_SYS_PTRACE");
  EXPECT_EQ(cap_name(kCapDacReadSearch), "CAP_DAC_READ_SEARCH");
  EXPECT_EQ(cap_name(kCapNetAdmin), "CAP_NET_ADMIN");
  EXPECT_EQ(cap_name(kCapSysNice), "CAP_SYS_NICE");
  EXPECT_EQ(cap_name(0), "CAP_CHOWN");
  EXPECT_EQ(cap_name(40), "CAP_CHECKPOINT_RESTORE");
  EXPECT_EQ(cap_name(50), "CAP_50");
  for (int c = 0; c <= 40; ++c) EXPECT_EQ(cap_from_name(cap_name(c)), c) << c;
}

TEST(Capabilities, FromNameSpellings) {
  EXPECT_EQ(cap_from_name("CAP_BPF"), kCapBpf);
  EXPECT_EQ(cap_from_name("cap_bpf"), kCapBpf);
  EXPECT_EQ(cap_from_name("bpf"), kCapBpf);
  EXPECT_EQ(cap_from_name("Sys_Ptrace"), kCapSysPtrace);
  EXPECT_EQ(cap_from_name(""), std::nullopt);
  EXPECT_EQ(cap_from_name("CAP_"), std::nullopt);
  EXPECT_EQ(cap_from_name("CAP_NOPE"), std::nullopt);
  EXPECT_EQ(cap_from_name("CAP_BPFX"), std::nullopt);
}

TEST(Capabilities, ParseList) {
  struct Case {
    const char* text;
    CapSet want;
  };
  const Case cases[] = {
      {"", CapSet{}},
      {"CAP_BPF", CapSet{kCapBpf}},
      {"cap_bpf,cap_perfmon", CapSet{kCapBpf, kCapPerfmon}},
      {"+bpf, +perfmon  sys_ptrace", CapSet{kCapBpf, kCapPerfmon, kCapSysPtrace}},
      {" ,CAP_NET_ADMIN,, ", CapSet{kCapNetAdmin}},
  };
  for (const auto& c : cases) {
    auto r = parse_cap_list(c.text);
    ASSERT_TRUE(r.ok()) << c.text;
    EXPECT_EQ(r.value(), c.want) << c.text;
  }
  auto bad = parse_cap_list("CAP_BPF,CAP_WHAT");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "unknown capability 'CAP_WHAT'");
}

TEST(Capabilities, FormatAndSetOps) {
  CapSet s{kCapBpf, kCapPerfmon, kCapSysPtrace};
  EXPECT_EQ(format_caps(s), "CAP_SYS_PTRACE CAP_PERFMON CAP_BPF");
  EXPECT_EQ(format_caps(s, ", "), "CAP_SYS_PTRACE, CAP_PERFMON, CAP_BPF");
  EXPECT_EQ(format_caps(CapSet{}), "");
  EXPECT_EQ(s.minus(CapSet{kCapPerfmon}), (CapSet{kCapBpf, kCapSysPtrace}));
  EXPECT_TRUE(CapSet{}.empty());
  EXPECT_FALSE(s.has(kCapNetAdmin));
  EXPECT_FALSE(s.has(-1));
  EXPECT_FALSE(s.has(64));
  EXPECT_EQ(s.members(), (std::vector<int>{kCapSysPtrace, kCapPerfmon, kCapBpf}));
}

TEST(Capabilities, ParseStatusMask) {
  // CapEff of root on Linux 6.x, and of a process holding CAP_BPF + CAP_PERFMON.
  EXPECT_EQ(parse_cap_mask("000001ffffffffff")->mask(), 0x1ffffffffffull);
  EXPECT_EQ(parse_cap_mask("\t000000c000000000\n"), (CapSet{kCapBpf, kCapPerfmon}));
  EXPECT_EQ(parse_cap_mask("0000000000000000"), CapSet{});
  EXPECT_EQ(parse_cap_mask(""), std::nullopt);
  EXPECT_EQ(parse_cap_mask("00000000000000000"), std::nullopt);  // 17 digits
  EXPECT_EQ(parse_cap_mask("00x0"), std::nullopt);
}

TEST(Capabilities, EffectiveMatchesProcStatus) {
  auto caps = effective_caps();
  ASSERT_TRUE(caps.ok()) << caps.error().message;
  FILE* f = std::fopen("/proc/self/status", "r");
  ASSERT_NE(f, nullptr);
  char line[256];
  std::optional<CapSet> from_status;
  while (std::fgets(line, sizeof line, f)) {
    std::string_view l(line);
    if (l.rfind("CapEff:", 0) == 0) from_status = parse_cap_mask(l.substr(7));
  }
  std::fclose(f);
  ASSERT_TRUE(from_status.has_value());
  EXPECT_EQ(caps.value(), *from_status);
}

}  // namespace
}  // namespace procwatch
