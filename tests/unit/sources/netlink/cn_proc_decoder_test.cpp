#include "sources/netlink/cn_proc_decoder.h"

#include <gtest/gtest.h>

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "cn_proc_builder.h"

namespace procwatch::netlink {
namespace {

using namespace cnbuild;  // the datagram builder

struct Decoded {
  std::vector<CnProcRecord> recs;
  CnProcStats stats;
};

Decoded decode(const Bytes& b) {
  Decoded d;
  decode_cn_proc(std::span<const std::byte>(b.data(), b.size()), d.recs, d.stats);
  return d;
}

// ---- one valid message of every kind -------------------------------------------------------

struct KindCase {
  std::string name;
  ProcMsg msg;
  std::function<void(const EventBody&)> check;
};

std::vector<KindCase> kind_cases() {
  std::vector<KindCase> v;
  v.push_back({"fork", fork_msg(11, 10, 22, 21), [](const EventBody& b) {
                 const auto& f = std::get<ForkEvent>(b);
                 EXPECT_EQ(f.parent_tid, 11);
                 EXPECT_EQ(f.parent_pid, 10);
                 EXPECT_EQ(f.child_tid, 22);
                 EXPECT_EQ(f.child_pid, 21);
                 EXPECT_FALSE(f.child_start_time);
               }});
  v.push_back({"exec", exec_msg(31, 30), [](const EventBody& b) {
                 const auto& e = std::get<ExecEvent>(b);
                 EXPECT_EQ(e.tid, 31);
                 EXPECT_EQ(e.pid, 30);
                 EXPECT_FALSE(e.capture.exe);
               }});
  v.push_back({"exit", exit_msg(41, 40, 3u << 8, 17, 51, 50), [](const EventBody& b) {
                 const auto& x = std::get<ExitEvent>(b);
                 EXPECT_EQ(x.tid, 41);
                 EXPECT_EQ(x.pid, 40);
                 EXPECT_EQ(x.exit_code, 3u << 8);
                 EXPECT_EQ(exit_status_code(x.exit_code), 3);
                 EXPECT_EQ(x.exit_signal, 17u);
                 EXPECT_EQ(x.parent_tid, 51);
                 EXPECT_EQ(x.parent_pid, 50);
               }});
  v.push_back({"uid", id_msg(kWhatUid, 61, 60, 1000, 0), [](const EventBody& b) {
                 const auto& u = std::get<UidEvent>(b);
                 EXPECT_EQ(u.tid, 61);
                 EXPECT_EQ(u.pid, 60);
                 EXPECT_EQ(u.ruid, 1000u);
                 EXPECT_EQ(u.euid, 0u);
               }});
  v.push_back({"gid", id_msg(kWhatGid, 71, 70, 100, 65534), [](const EventBody& b) {
                 const auto& g = std::get<GidEvent>(b);
                 EXPECT_EQ(g.tid, 71);
                 EXPECT_EQ(g.pid, 70);
                 EXPECT_EQ(g.rgid, 100u);
                 EXPECT_EQ(g.egid, 65534u);
               }});
  {
    ProcMsg m;
    m.what = kWhatSid;
    m.words = {81, 80, 0, 0, 0, 0};
    v.push_back({"sid", m, [](const EventBody& b) {
                   const auto& s = std::get<SidEvent>(b);
                   EXPECT_EQ(s.tid, 81);
                   EXPECT_EQ(s.pid, 80);
                 }});
  }
  {
    ProcMsg m;
    m.what = kWhatPtrace;
    m.words = {91, 90, 93, 92, 0, 0};
    v.push_back({"ptrace", m, [](const EventBody& b) {
                   const auto& p = std::get<PtraceEvent>(b);
                   EXPECT_EQ(p.tid, 91);
                   EXPECT_EQ(p.pid, 90);
                   EXPECT_EQ(p.tracer_tid, 93);
                   EXPECT_EQ(p.tracer_pid, 92);
                 }});
  }
  {
    ProcMsg m;
    m.what = kWhatComm;
    m.words = {101, 100, 0, 0, 0, 0};
    m.comm = "worker-7";
    v.push_back({"comm", m, [](const EventBody& b) {
                   const auto& c = std::get<CommEvent>(b);
                   EXPECT_EQ(c.tid, 101);
                   EXPECT_EQ(c.pid, 100);
                   EXPECT_EQ(c.comm, "worker-7");
                 }});
  }
  {
    ProcMsg m;
    m.what = kWhatComm;
    m.words = {101, 100, 0, 0, 0, 0};
    m.comm = "0123456789abcdefXYZ";  // 16 bytes, no NUL inside the field
    v.push_back({"comm_unterminated", m, [](const EventBody& b) {
                   EXPECT_EQ(std::get<CommEvent>(b).comm, "0123456789abcdef");
                 }});
  }
  {
    ProcMsg m;
    m.what = kWhatCoredump;
    m.words = {111, 110, 121, 120, 0, 0};
    v.push_back({"coredump", m, [](const EventBody& b) {
                   const auto& c = std::get<CoredumpEvent>(b);
                   EXPECT_EQ(c.tid, 111);
                   EXPECT_EQ(c.pid, 110);
                   EXPECT_EQ(c.parent_tid, 121);
                   EXPECT_EQ(c.parent_pid, 120);
                 }});
  }
  return v;
}

TEST(CnProcDecoder, DecodesEveryKind) {
  for (auto& c : kind_cases()) {
    SCOPED_TRACE(c.name);
    c.msg.cpu = 1;
    c.msg.seq = 4242;
    c.msg.ts = 123456789012345ull;
    auto d = decode(build(c.msg));
    ASSERT_EQ(d.recs.size(), 1u);
    const auto& r = d.recs[0];
    EXPECT_EQ(r.kind, CnRecordKind::kEvent);
    EXPECT_EQ(r.seq, 4242u);
    EXPECT_EQ(r.cpu, 1u);
    EXPECT_EQ(r.what, c.msg.what);
    EXPECT_EQ(r.event.cpu, 1u);
    EXPECT_EQ(r.event.ts_ns, 123456789012345ull);
    c.check(r.event.body);
    EXPECT_EQ(d.stats.events, 1u);
    EXPECT_EQ(d.stats.messages, 1u);
    EXPECT_EQ(d.stats.malformed(), 0u);
  }
}

TEST(CnProcDecoder, EventNamesMatchKinds) {
  const char* names[] = {"fork", "exec", "exit", "uid",    "gid",
                         "sid",  "comm", "comm", "ptrace", "coredump"};
  std::vector<std::string> got;
  for (auto& c : kind_cases()) {
    auto d = decode(build(c.msg));
    ASSERT_EQ(d.recs.size(), 1u);
    got.push_back(event_name(d.recs[0].event.body));
  }
  std::vector<std::string> want(std::begin(names), std::end(names));
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
}

TEST(CnProcDecoder, AckIsARecordNotAnEvent) {
  auto d = decode(build(ack_msg(0, 78)));
  ASSERT_EQ(d.recs.size(), 1u);
  EXPECT_EQ(d.recs[0].kind, CnRecordKind::kAck);
  EXPECT_EQ(d.recs[0].ack_err, 0u);
  EXPECT_EQ(d.recs[0].cn_ack, 78u);
  EXPECT_EQ(d.recs[0].cpu, 0xffffffffu);
  EXPECT_EQ(d.stats.acks, 1u);
  EXPECT_EQ(d.stats.events, 0u);

  auto e = decode(build(ack_msg(1 /*EPERM*/, 5)));
  ASSERT_EQ(e.recs.size(), 1u);
  EXPECT_EQ(e.recs[0].ack_err, 1u);
}

TEST(CnProcDecoder, UnknownWhatKeepsSeqAndCpu) {
  ProcMsg m;
  m.what = 0x400;  // the "next" bit, not defined yet
  m.cpu = 1;
  m.seq = 99;
  auto d = decode(build(m));
  ASSERT_EQ(d.recs.size(), 1u);
  EXPECT_EQ(d.recs[0].kind, CnRecordKind::kUnknownWhat);
  EXPECT_EQ(d.recs[0].seq, 99u);
  EXPECT_EQ(d.recs[0].cpu, 1u);
  EXPECT_EQ(d.stats.unknown_what, 1u);
  EXPECT_EQ(d.stats.events, 0u);
  EXPECT_EQ(d.stats.malformed(), 0u);
}

// ---- truncation ---------------------------------------------------------------------------

TEST(CnProcDecoder, BufferCutAtEveryLength) {
  const Bytes full = build(exit_msg(5, 5, 0, 17, 1, 1));
  ASSERT_EQ(decode(full).recs.size(), 1u);
  for (size_t len = 0; len < full.size(); ++len) {
    SCOPED_TRACE(len);
    Bytes cut(full.begin(), full.begin() + long(len));
    auto d = decode(cut);
    EXPECT_TRUE(d.recs.empty());
    EXPECT_EQ(d.stats.events, 0u);
    EXPECT_EQ(d.stats.truncated, len == 0 ? 0u : 1u);
  }
}

TEST(CnProcDecoder, ConsistentButShortMessageAtEveryLength) {
  // nlmsg_len says exactly what the buffer holds, but the payload is too short.
  const Bytes full = build(exit_msg(5, 5, 0, 17, 1, 1));
  for (size_t len = 16; len < full.size(); ++len) {
    SCOPED_TRACE(len);
    Bytes cut(full.begin(), full.begin() + long(len));
    put<uint32_t>(cut, 0, uint32_t(len));
    auto d = decode(cut);
    EXPECT_TRUE(d.recs.empty());
    EXPECT_EQ(d.stats.truncated, 1u);
    EXPECT_EQ(d.stats.messages, 1u);
  }
}

TEST(CnProcDecoder, CnLenTooSmallForTheKind) {
  auto m = exit_msg(5, 5, 0, 17, 1, 1);
  m.cn_len = 36;  // exit needs the whole 24-byte union
  auto d = decode(build(m));
  EXPECT_TRUE(d.recs.empty());
  EXPECT_EQ(d.stats.truncated, 1u);

  auto f = fork_msg(1, 1, 2, 2);
  f.cn_len = 32;  // fork needs only 16 bytes of the union: accepted
  auto e = decode(build(f));
  ASSERT_EQ(e.recs.size(), 1u);
  EXPECT_EQ(std::get<ForkEvent>(e.recs[0].event.body).child_pid, 2);

  auto g = fork_msg(1, 1, 2, 2);
  g.cn_len = 10;  // not even the proc_event header
  EXPECT_EQ(decode(build(g)).stats.truncated, 1u);
}

TEST(CnProcDecoder, CnLenPastTheMessage) {
  auto m = exec_msg(5, 5);
  m.cn_len = 41;
  auto d = decode(build(m));
  EXPECT_TRUE(d.recs.empty());
  EXPECT_EQ(d.stats.truncated, 1u);
}

TEST(CnProcDecoder, NlmsgLenLargerThanBuffer) {
  auto second = exec_msg(7, 7);
  second.nl_len = 200;
  auto d = decode(concat({build(exec_msg(6, 6)), build(second)}));
  ASSERT_EQ(d.recs.size(), 1u);  // the first one is still good
  EXPECT_EQ(std::get<ExecEvent>(d.recs[0].event.body).pid, 6);
  EXPECT_EQ(d.stats.truncated, 1u);
}

TEST(CnProcDecoder, NlmsgLenSmallerThanHeaderStopsTheWalk) {
  for (uint32_t bad : {0u, 1u, 8u, 15u}) {
    SCOPED_TRACE(bad);
    auto first = exec_msg(6, 6);
    first.nl_len = bad;
    auto d = decode(concat({build(first), build(exec_msg(7, 7))}));
    EXPECT_TRUE(d.recs.empty());  // nothing after an untrustworthy header is believed
    EXPECT_EQ(d.stats.truncated, 1u);
    EXPECT_EQ(d.stats.messages, 0u);
  }
}

TEST(CnProcDecoder, TrailingBytesAfterLastMessage) {
  Bytes b = build(exec_msg(6, 6));
  for (int i = 0; i < 8; ++i) b.push_back(std::byte{0xab});
  auto d = decode(b);
  ASSERT_EQ(d.recs.size(), 1u);
  EXPECT_EQ(d.stats.truncated, 1u);
}

// ---- other netlink message types ------------------------------------------------------------

TEST(CnProcDecoder, ControlMessagesAreCountedAndSkipped) {
  struct Case {
    uint16_t type;
    uint32_t payload;
    uint64_t CnProcStats::*counter;
  };
  const Case cases[] = {
      {kNlmsgError, 20, &CnProcStats::nlmsg_error}, {kNlmsgError, 0, &CnProcStats::nlmsg_error},
      {kNlmsgNoop, 0, &CnProcStats::noop},          {kNlmsgOverrun, 0, &CnProcStats::overrun},
      {0x20, 4, &CnProcStats::unknown_type},        {0, 0, &CnProcStats::unknown_type},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type);
    auto d = decode(bare(c.type, c.payload));
    EXPECT_TRUE(d.recs.empty());
    EXPECT_EQ(d.stats.*c.counter, 1u);
    EXPECT_EQ(d.stats.messages, 1u);
    EXPECT_EQ(d.stats.malformed(), 0u);
  }
}

TEST(CnProcDecoder, DoneWithBadPayload) {
  for (uint32_t payload : {0u, 10u, 19u}) {
    SCOPED_TRACE(payload);
    auto d = decode(bare(kNlmsgDone, payload));
    EXPECT_TRUE(d.recs.empty());
    EXPECT_EQ(d.stats.truncated, 1u);
  }
}

TEST(CnProcDecoder, WrongConnectorId) {
  auto m = exec_msg(6, 6);
  m.idx = 2;
  EXPECT_EQ(decode(build(m)).stats.bad_cn_id, 1u);
  m.idx = 1;
  m.val = 7;
  auto d = decode(build(m));
  EXPECT_EQ(d.stats.bad_cn_id, 1u);
  EXPECT_TRUE(d.recs.empty());
}

// ---- several messages in one datagram -----------------------------------------------------

TEST(CnProcDecoder, TwoMessagesInOneDatagram) {
  auto a = fork_msg(1, 1, 2, 2);
  a.seq = 10;
  auto b = exec_msg(2, 2);
  b.seq = 11;
  auto d = decode(concat({build(a), build(b)}));
  ASSERT_EQ(d.recs.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<ForkEvent>(d.recs[0].event.body));
  EXPECT_TRUE(std::holds_alternative<ExecEvent>(d.recs[1].event.body));
  EXPECT_EQ(d.recs[0].seq, 10u);
  EXPECT_EQ(d.recs[1].seq, 11u);
  EXPECT_EQ(d.stats.messages, 2u);
}

TEST(CnProcDecoder, MixedDatagram) {
  auto d = decode(concat({bare(kNlmsgNoop), build(exec_msg(3, 3)), bare(kNlmsgError, 4),
                          build(ack_msg(0, 1)), bare(kNlmsgOverrun)}));
  ASSERT_EQ(d.recs.size(), 2u);
  EXPECT_EQ(d.recs[0].kind, CnRecordKind::kEvent);
  EXPECT_EQ(d.recs[1].kind, CnRecordKind::kAck);
  EXPECT_EQ(d.stats.noop, 1u);
  EXPECT_EQ(d.stats.nlmsg_error, 1u);
  EXPECT_EQ(d.stats.overrun, 1u);
  EXPECT_EQ(d.stats.messages, 5u);
}

TEST(CnProcDecoder, UnalignedLengthIsPaddedToFour) {
  auto a = exec_msg(3, 3);
  a.nl_len = 78;  // two extra payload bytes; the next header starts at 80
  Bytes first = build(a);
  first.resize(78);
  auto d = decode(concat({first, build(exec_msg(4, 4))}));
  ASSERT_EQ(d.recs.size(), 2u);
  EXPECT_EQ(std::get<ExecEvent>(d.recs[1].event.body).pid, 4);
  EXPECT_EQ(d.stats.malformed(), 0u);

  // The last message may end without its padding.
  auto e = decode(first);
  EXPECT_EQ(e.recs.size(), 1u);
  EXPECT_EQ(e.stats.malformed(), 0u);
}

TEST(CnProcDecoder, StatsAccumulateAcrossCalls) {
  std::vector<CnProcRecord> recs;
  CnProcStats stats;
  const Bytes b = build(exec_msg(3, 3));
  for (int i = 0; i < 3; ++i) decode_cn_proc(b, recs, stats);
  EXPECT_EQ(recs.size(), 3u);
  EXPECT_EQ(stats.events, 3u);
}

}  // namespace
}  // namespace procwatch::netlink
