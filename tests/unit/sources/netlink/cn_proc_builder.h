// Test helper: builds proc connector datagrams byte by byte at offsets written out here from
// the kernel layout (not taken from the uapi structs), so the decoder's offsets are checked
// against an independent description.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace procwatch::netlink::cnbuild {

using Bytes = std::vector<std::byte>;

inline constexpr uint16_t kNlmsgNoop = 1, kNlmsgError = 2, kNlmsgDone = 3, kNlmsgOverrun = 4;
inline constexpr uint32_t kWhatNone = 0, kWhatFork = 1, kWhatExec = 2, kWhatUid = 4,
                          kWhatGid = 0x40, kWhatSid = 0x80, kWhatPtrace = 0x100, kWhatComm = 0x200,
                          kWhatCoredump = 0x40000000, kWhatExit = 0x80000000;

struct ProcMsg {
  uint32_t what = kWhatExec;
  uint32_t cpu = 0;
  uint64_t ts = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  std::array<uint32_t, 6> words{};  // the 24-byte union as six u32
  std::optional<std::string> comm;  // written at union offset 8 (16 bytes) when set
  uint32_t idx = 1, val = 1;
  uint16_t nl_type = kNlmsgDone;
  std::optional<uint16_t> cn_len;  // default 40
  std::optional<uint32_t> nl_len;  // default 76
};

template <class T>
void put(Bytes& b, size_t off, T v) {
  if (b.size() < off + sizeof(T)) b.resize(off + sizeof(T));
  std::memcpy(b.data() + off, &v, sizeof(T));
}

// nlmsghdr 0..16 | cn_msg 16..36 (idx, val, seq, ack, len u16, flags u16) |
// proc_event 36..76 (what, cpu, timestamp u64, union 24 bytes).
inline Bytes build(const ProcMsg& m) {
  Bytes b(76);
  put<uint32_t>(b, 0, m.nl_len.value_or(76));
  put<uint16_t>(b, 4, m.nl_type);
  put<uint16_t>(b, 6, 0);
  put<uint32_t>(b, 8, m.seq);
  put<uint32_t>(b, 12, 0);
  put<uint32_t>(b, 16, m.idx);
  put<uint32_t>(b, 20, m.val);
  put<uint32_t>(b, 24, m.seq);
  put<uint32_t>(b, 28, m.ack);
  put<uint16_t>(b, 32, m.cn_len.value_or(40));
  put<uint16_t>(b, 34, 0);
  put<uint32_t>(b, 36, m.what);
  put<uint32_t>(b, 40, m.cpu);
  put<uint64_t>(b, 44, m.ts);
  for (size_t i = 0; i < 6; ++i) put<uint32_t>(b, 52 + 4 * i, m.words[i]);
  if (m.comm) {
    char c[16] = {};
    std::memcpy(c, m.comm->data(), m.comm->size() < 16 ? m.comm->size() : 16);
    std::memcpy(b.data() + 60, c, 16);
  }
  return b;
}

// A bare netlink message of `type` with `payload_len` zero bytes of payload.
inline Bytes bare(uint16_t type, uint32_t payload_len = 0) {
  Bytes b(16 + payload_len);
  put<uint32_t>(b, 0, 16 + payload_len);
  put<uint16_t>(b, 4, type);
  return b;
}

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
    while (out.size() % 4) out.push_back(std::byte{0});  // NLMSG_ALIGN
  }
  return out;
}

// Kernel argument order: thread id ("pid") first, then process id ("tgid").
inline ProcMsg fork_msg(uint32_t ptid, uint32_t ppid, uint32_t ctid, uint32_t cpid) {
  ProcMsg m;
  m.what = kWhatFork;
  m.words = {ptid, ppid, ctid, cpid, 0, 0};
  return m;
}
inline ProcMsg exec_msg(uint32_t tid, uint32_t pid) {
  ProcMsg m;
  m.what = kWhatExec;
  m.words = {tid, pid, 0, 0, 0, 0};
  return m;
}
inline ProcMsg exit_msg(uint32_t tid, uint32_t pid, uint32_t code, uint32_t sig,
                        uint32_t parent_tid, uint32_t parent_pid) {
  ProcMsg m;
  m.what = kWhatExit;
  m.words = {tid, pid, code, sig, parent_tid, parent_pid};
  return m;
}
inline ProcMsg id_msg(uint32_t what, uint32_t tid, uint32_t pid, uint32_t r, uint32_t e) {
  ProcMsg m;
  m.what = what;
  m.words = {tid, pid, r, e, 0, 0};
  return m;
}
inline ProcMsg ack_msg(uint32_t err, uint32_t ack) {
  ProcMsg m;
  m.what = kWhatNone;
  m.ack = ack;
  m.cpu = 0xffffffff;
  m.words = {err, 0, 0, 0, 0, 0};
  return m;
}

}  // namespace procwatch::netlink::cnbuild
