// Real kernel: the socket shim against the live proc connector (root on Linux 6.18 here).
#include "sources/netlink/netlink_socket.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <vector>

#include "sources/netlink/cn_proc_decoder.h"
#include "sources/netlink/seq_tracker.h"

extern char** environ;

namespace procwatch::netlink {
namespace {

pid_t spawn_true() {
  pid_t pid = -1;
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0) return -1;
  return pid;
}

void reap(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

TEST(NetlinkSocket, OpensWithForcedLargeBuffer) {
  auto s = NetlinkSocket::open(SocketOptions{size_t{8} << 20, true});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_GE(s->fd(), 0);
  EXPECT_TRUE(s->rcvbuf_forced());                // root: SO_RCVBUFFORCE is allowed
  EXPECT_GE(s->rcvbuf_bytes(), size_t{8} << 20);  // the kernel doubles what was asked
  EXPECT_TRUE(s->no_enobufs());
  EXPECT_FALSE(s->subscribed());
}

TEST(NetlinkSocket, SubscribeGetsOurAckAndEvents) {
  auto s = NetlinkSocket::open();
  ASSERT_TRUE(s) << s.error().message;
  const uint32_t nonce = 0x5eed0000u + uint32_t(getpid() & 0xffff);
  ASSERT_TRUE(s->subscribe(nonce));
  EXPECT_TRUE(s->subscribed());

  const pid_t child = spawn_true();
  ASSERT_GT(child, 0);
  reap(child);

  RecvBatch batch(16, 1024);
  std::vector<CnProcRecord> recs;
  CnProcStats stats;
  bool ack = false, exec = false;
  uint32_t ack_err = 12345;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((!ack || !exec) && std::chrono::steady_clock::now() < deadline) {
    auto n = s->recv_batch(batch, 100);
    ASSERT_TRUE(n) << n.error().message;
    for (size_t i = 0; i < *n; ++i) {
      EXPECT_EQ(batch.sender_port(i), 0u);  // the kernel
      EXPECT_FALSE(batch.truncated(i));
      recs.clear();
      decode_cn_proc(batch.datagram(i), recs, stats);
      for (const auto& r : recs) {
        if (r.kind == CnRecordKind::kAck && r.cn_ack == nonce + 1) {
          ack = true;
          ack_err = r.ack_err;
        }
        if (auto* e = std::get_if<ExecEvent>(&r.event.body); e && e->pid == child) exec = true;
      }
    }
  }
  EXPECT_TRUE(ack);
  EXPECT_EQ(ack_err, 0u);
  EXPECT_TRUE(exec);
  EXPECT_EQ(stats.malformed(), 0u);
  EXPECT_TRUE(s->unsubscribe());
  EXPECT_FALSE(s->subscribed());
}

TEST(NetlinkSocket, RecvTimesOutWithZero) {
  auto s = NetlinkSocket::open();  // bound but not subscribed: nothing for us unless others
  ASSERT_TRUE(s);
  RecvBatch batch(4, 1024);
  auto n = s->recv_batch(batch, 10);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(batch.size(), *n);
}

TEST(NetlinkSocket, ClosedSocketReportsEbadf) {
  auto s = NetlinkSocket::open();
  ASSERT_TRUE(s);
  s->close();
  EXPECT_EQ(s->fd(), -1);
  RecvBatch batch(1, 1024);
  auto n = s->recv_batch(batch, 0);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().errnum, EBADF);
  auto sub = s->subscribe();
  ASSERT_FALSE(sub);
  EXPECT_EQ(sub.error().errnum, EBADF);
}

// Fill a tiny buffer without reading, then drain: what the loss machinery sees for real.
struct Drained {
  uint64_t received = 0, lost_gap = 0, lost_enobufs = 0, enobufs_errors = 0;
};

// Pins the calling thread (and children it spawns) to CPU 0, so that all our events share one
// per-CPU sequence and the next spawn reveals every gap. Restores the mask on destruction.
class PinToCpu0 {
 public:
  PinToCpu0() {
    ok_ = sched_getaffinity(0, sizeof(saved_), &saved_) == 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    ok_ = ok_ && sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~PinToCpu0() {
    if (ok_) sched_setaffinity(0, sizeof(saved_), &saved_);
  }
  bool ok() const { return ok_; }

 private:
  cpu_set_t saved_{};
  bool ok_ = false;
};

Drained overflow_and_drain(bool no_enobufs) {
  Drained d;
  PinToCpu0 pin;
  EXPECT_TRUE(pin.ok());
  auto s = NetlinkSocket::open(SocketOptions{4096, no_enobufs});
  EXPECT_TRUE(s);
  if (!s) return d;
  EXPECT_LT(s->rcvbuf_bytes(), size_t{64} << 10);
  EXPECT_TRUE(s->subscribe());
  for (int i = 0; i < 200; ++i) {  // ~600 events; the buffer holds about ten
    pid_t p = spawn_true();
    EXPECT_GT(p, 0);
    if (p > 0) reap(p);
  }
  RecvBatch batch(64, 1024);
  std::vector<CnProcRecord> recs;
  CnProcStats stats;
  LossAccounting loss;
  auto drain = [&] {
    // Until three short reads: the machine never goes fully quiet (other processes).
    for (int quiet = 0; quiet < 3;) {
      auto n = s->recv_batch(batch, 50);
      if (!n) {
        EXPECT_EQ(n.error().errnum, ENOBUFS) << n.error().message;
        ++d.enobufs_errors;
        loss.on_overrun();
        continue;
      }
      for (size_t i = 0; i < *n; ++i) {
        recs.clear();
        decode_cn_proc(batch.datagram(i), recs, stats);
        for (const auto& r : recs) {
          ++d.received;
          if (r.cpu == 0xffffffffu) continue;
          if (auto l = loss.on_message(r.cpu, r.seq))
            (l->reason == "enobufs" ? d.lost_enobufs : d.lost_gap) += l->count;
        }
      }
      if (*n < batch.capacity()) {
        ++quiet;
        if (auto l = loss.on_drained()) d.lost_enobufs += l->count;
      }
    }
  };
  drain();
  // A loss shows with the next message on its CPU: make a few (they fit in the buffer).
  pid_t p = spawn_true();
  EXPECT_GT(p, 0);
  if (p > 0) reap(p);
  drain();
  return d;
}

TEST(NetlinkSocket, OverflowWithNoEnobufsShowsAsSeqGaps) {
  const Drained d = overflow_and_drain(true);
  EXPECT_GT(d.received, 0u);
  EXPECT_EQ(d.enobufs_errors, 0u);
  EXPECT_EQ(d.lost_enobufs, 0u);
  EXPECT_GT(d.lost_gap, 100u);  // most of ~600 events cannot have fit
}

TEST(NetlinkSocket, OverflowWithoutNoEnobufsReportsEnobufsOnce) {
  const Drained d = overflow_and_drain(false);
  EXPECT_GT(d.received, 0u);
  EXPECT_GE(d.enobufs_errors, 1u);
  EXPECT_GT(d.lost_enobufs, 100u);  // the gaps after the overrun, attributed to it
}

// The kernel counts what it drops for a full netlink socket (sk_drops, SO_MEMINFO), with or
// without NETLINK_NO_ENOBUFS: the loss is known when the socket drains, before any CPU sends
// the message whose sequence gap would show it (issue 13).
TEST(NetlinkSocket, DropCounterKnowsTheLossAtTheFirstDrain) {
  PinToCpu0 pin;
  ASSERT_TRUE(pin.ok());
  auto s = NetlinkSocket::open(SocketOptions{4096, true});
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->subscribe());
  auto before = s->drops();
  ASSERT_TRUE(before) << before.error().message;
  for (int i = 0; i < 200; ++i) {  // ~600 events; the buffer holds about ten
    pid_t p = spawn_true();
    ASSERT_GT(p, 0);
    reap(p);
  }
  auto after = s->drops();
  ASSERT_TRUE(after);
  EXPECT_GT(uint32_t(*after - *before), 100u);
  // One drain and the accounting reports it, with no later message needed.
  RecvBatch batch(64, 1024);
  std::vector<CnProcRecord> recs;
  CnProcStats stats;
  LossAccounting loss;
  (void)loss.on_drained(*before);
  uint64_t lost = 0;
  for (;;) {
    auto n = s->recv_batch(batch, 0);
    ASSERT_TRUE(n) << n.error().message;
    for (size_t i = 0; i < *n; ++i) {
      recs.clear();
      decode_cn_proc(batch.datagram(i), recs, stats);
      for (const auto& r : recs) {
        if (r.cpu == 0xffffffffu) continue;
        if (auto l = loss.on_message(r.cpu, r.seq)) lost += l->count;
      }
    }
    if (*n < batch.capacity()) break;
  }
  auto drops = s->drops();
  ASSERT_TRUE(drops);
  if (auto l = loss.on_drained(*drops)) lost += l->count;
  EXPECT_GE(lost, uint64_t(uint32_t(*drops - *before)));
}

}  // namespace
}  // namespace procwatch::netlink
