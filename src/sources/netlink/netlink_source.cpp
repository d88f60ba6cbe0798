#include "sources/netlink/netlink_source.h"

#include <pthread.h>
#include <sched.h>

#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "sources/netlink/fork_starts.h"

// Why NETLINK_NO_ENOBUFS is on by default:
// Without it, the first message that does not fit makes the kernel report ENOBUFS once, mark
// the socket congested and drop *every* message until the reader has drained the whole
// queue (up to 64 MiB, ~80k events here). A short burst thus loses far more than the excess,
// and ENOBUFS says nothing about how much. With it, only the messages that do not fit are
// dropped, and because we take all events (the 4-byte subscribe), every dropped message
// leaves a hole in its CPU's cn_msg.seq that SeqTracker counts exactly. The cost is that a
// loss shows up only with that CPU's next message (or never, for a CPU not yet seen): the
// same blind spot ENOBUFS has for its count. ENOBUFS is still handled (option off, or a
// kernel that ignores the flag): LossAccounting attributes the gaps after it to the overrun
// so that a message is never counted twice. The blind spot is closed by the socket's drop
// counter (SO_MEMINFO), read each time the socket is drained: what it counted beyond the gaps
// seen is reported at once ("socket_drops"), and the gaps that show it later are not counted
// again.

namespace procwatch::netlink {
namespace {

constexpr int kBackoffMs = 50;               // pause after a failing receive or wait
constexpr uint32_t kNoCpu = 0xffffffffu;     // acks from kernels before 6.x carry cpu = -1
constexpr uint32_t kExecMask = 0x00000002u;  // PROC_EVENT_EXEC as a subscription filter bit

}  // namespace

Error start_error(const Error& cause) {
  if (cause.errnum == EPERM || cause.errnum == EACCES) {
    return Error{
        "netlink: no permission to subscribe to the proc connector (needs CAP_NET_ADMIN on "
        "kernels before 6.6); run as root or use --source procfs",
        cause.errnum};
  }
  return cause;
}

// The counters the reader thread keeps; copied out under stats_mu_ once per batch.
struct NetlinkSource::Counters {
  uint64_t events = 0, lost = 0;
  uint64_t enobufs = 0, seq_gap = 0, enobufs_lost = 0, seq_gap_lost = 0;
  uint64_t recv_error = 0, foreign_sender = 0, msg_trunc = 0, ack_error = 0;
  uint64_t exec_capture_missed = 0, fork_start_missed = 0;
  uint64_t split = 0, exec_early = 0, exec_late = 0, exec_unmatched = 0, filter_unsupported = 0;
  uint64_t socket_drops = 0, socket_drops_lost = 0, drop_counter_error = 0;
  CnProcStats decode;
};

NetlinkSource::NetlinkSource(const procfs::ProcReader& reader, NetlinkOptions opts)
    : reader_(reader), opts_(opts), counters_(std::make_unique<Counters>()) {
  if (opts_.batch_size == 0) opts_.batch_size = 1;
}

NetlinkSource::~NetlinkSource() { stop(); }

Result<bool> NetlinkSource::start(EventQueue& queue) {
  if (thread_.joinable()) return Error{"netlink: source already started", EBUSY};
  auto s = NetlinkSocket::open(SocketOptions{opts_.rcvbuf_bytes, opts_.no_enobufs});
  if (!s) return start_error(s.error());
  sock_.emplace(std::move(s.value()));
  rcvbuf_bytes_ = sock_->rcvbuf_bytes();

  // Acks are multicast to every listener: the nonce tells ours from another monitor's.
  nonce_ = uint32_t(getpid()) * 2654435761u ^ uint32_t(monotonic_ns());
  {
    std::lock_guard lk(ack_mu_);
    ack_seen_ = false;
    ack_err_ = 0;
  }
  // Subscribe before the thread exists, so only this thread touches the socket object; the
  // ack waits in the socket buffer.
  auto sub = sock_->subscribe(nonce_);
  if (!sub) {
    sock_.reset();
    return start_error(sub.error());
  }
  auto wake = WakeFd::open();
  if (!wake) return wake.error();
  auto timer = PeriodicTimer::open();
  if (!timer) return timer.error();
  wake_.emplace(std::move(*wake));
  timer_.emplace(std::move(*timer));
  if (reader_.pidfd_ids() && !cgroups_) {
    if (auto mount = procfs::find_cgroup2_mount())
      cgroups_ = std::make_unique<procfs::CgroupResolver>(*mount);
  }
  if (opts_.split_exec) {
    // Best effort: without it the full socket is read per event, as with split_exec off.
    auto es = NetlinkSocket::open(SocketOptions{opts_.exec_rcvbuf_bytes, true});
    if (es && es->subscribe(nonce_ + 2, kExecMask)) exec_sock_.emplace(std::move(*es));
  }
  {
    std::lock_guard slk(stats_mu_);
    *counters_ = Counters{};  // counters are per run
    no_ack_ = realtime_refused_ = 0;
  }
  stop_.store(false);
  thread_ = std::thread(&NetlinkSource::run, this, &queue);

  std::unique_lock lk(ack_mu_);
  ack_cv_.wait_for(lk, opts_.ack_timeout, [this] { return ack_seen_; });
  const bool seen = ack_seen_;
  const uint32_t err = ack_err_;
  lk.unlock();
  if (seen && err != 0) {
    // Kernels before 6.6 refuse an unprivileged subscribe through the ack, not the send.
    stop();
    return start_error(Error{"netlink: the kernel refused the subscription", int(err)});
  }
  if (!seen) {
    std::lock_guard slk(stats_mu_);
    ++no_ack_;
  }
  return true;
}

void NetlinkSource::stop() {
  stop_.store(true);
  if (wake_) wake_->notify();
  if (thread_.joinable()) thread_.join();
  exec_sock_.reset();
  sock_.reset();  // unsubscribes and closes
  timer_.reset();
  wake_.reset();
}

SourceStats NetlinkSource::stats() const {
  std::lock_guard lk(stats_mu_);
  const Counters& c = *counters_;
  SourceStats s;
  s.events = c.events;
  s.lost = c.lost;
  s.malformed = c.decode.malformed();
  s.counters = {
      {"nlmsg_error", c.decode.nlmsg_error},
      {"noop", c.decode.noop},
      {"overrun", c.decode.overrun},
      {"unknown_type", c.decode.unknown_type},
      {"bad_cn_id", c.decode.bad_cn_id},
      {"unknown_what", c.decode.unknown_what},
      {"truncated", c.decode.truncated},
      {"ack", c.decode.acks},
      {"ack_error", c.ack_error},
      {"enobufs", c.enobufs},
      {"enobufs_lost", c.enobufs_lost},
      {"seq_gap", c.seq_gap},
      {"seq_gap_lost", c.seq_gap_lost},
      {"recv_error", c.recv_error},
      {"foreign_sender", c.foreign_sender},
      {"msg_trunc", c.msg_trunc},
      {"exec_capture_missed", c.exec_capture_missed},
      {"fork_start_missed", c.fork_start_missed},
      {"split", c.split},
      {"exec_early", c.exec_early},
      {"exec_late", c.exec_late},
      {"exec_unmatched", c.exec_unmatched},
      {"filter_unsupported", c.filter_unsupported},
      {"socket_drops", c.socket_drops},
      {"socket_drops_lost", c.socket_drops_lost},
      {"drop_counter_error", c.drop_counter_error},
  };
  if (no_ack_) s.counters["no_ack"] = no_ack_;
  if (realtime_refused_) s.counters["realtime_refused"] = realtime_refused_;
  return s;
}

void NetlinkSource::run(EventQueue* queue) {
  if (opts_.realtime_reader) {
    // Bounded work per wakeup (drain + a few /proc reads), so FIFO cannot starve the machine;
    // the kernel's RT throttling is a further backstop. Without permission we run as before.
    sched_param sp{};
    sp.sched_priority = 1;
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0) {
      std::lock_guard lk(stats_mu_);
      ++realtime_refused_;
    }
  }
  RecvBatch batch(opts_.batch_size, 2048);
  std::vector<CnProcRecord> recs;
  std::vector<ProcEvent> out;
  out.reserve(opts_.batch_size * 2);
  LossAccounting loss;
  Counters c;
  const uint32_t our_ack = nonce_ + 1;
  // Captures taken from the exec-only socket, by (event time, pid): the same event reaches
  // the full socket with the same timestamp.
  std::map<std::pair<uint64_t, int32_t>, ExecCapture> early;
  bool split = exec_sock_.has_value();
  const int64_t interval_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(opts_.batch_interval).count();

  auto publish = [&] {
    c.split = split ? 1 : 0;
    std::lock_guard lk(stats_mu_);
    *counters_ = c;
  };

  auto add_loss = [&](const LostEvent& l, uint64_t ts, uint32_t cpu) {
    c.lost += l.count;
    if (l.reason == "enobufs") {
      c.enobufs_lost += l.count;
    } else if (l.reason == "socket_drops") {
      ++c.socket_drops;
      c.socket_drops_lost += l.count;
    } else {
      ++c.seq_gap;
      c.seq_gap_lost += l.count;
    }
    out.push_back(ProcEvent{ts, cpu, l});
  };

  // Reads the exec-only socket dry, capturing each new program. Falls back to the full
  // socket alone (split off) when the kernel ignored the filter (it sent something else: a
  // kernel before 6.6, where every event would arrive twice) or the socket fails.
  auto drain_exec = [&] {
    CnProcStats ignored;
    for (;;) {
      auto r = exec_sock_->recv_batch(batch, 0);
      if (!r && r.error().errnum == ENOBUFS) return;  // what it dropped is captured late
      bool usable = r.ok();
      if (!usable) ++c.recv_error;
      for (size_t i = 0; usable && i < *r; ++i) {
        if (batch.sender_port(i) != 0) continue;
        recs.clear();
        decode_cn_proc(batch.datagram(i), recs, ignored);
        for (auto& rec : recs) {
          if (rec.kind == CnRecordKind::kAck) continue;
          auto* ex = std::get_if<ExecEvent>(&rec.event.body);
          if (rec.kind != CnRecordKind::kEvent || !ex) {
            ++c.filter_unsupported;
            usable = false;
            break;
          }
          if (ex->pid != ex->tid) continue;
          early.emplace(std::pair{rec.event.ts_ns, ex->pid},
                        reader_.capture_exec(ex->pid, cgroups_.get()));
        }
      }
      if (!usable) {
        split = false;
        early.clear();
        exec_sock_.reset();
        return;
      }
      if (*r < batch.capacity()) return;
    }
  };

  // Decodes one datagram of the full socket into `out`.
  auto take = [&](size_t i) {
    if (batch.sender_port(i) != 0) {  // only the kernel (port 0) sends proc events
      ++c.foreign_sender;
      return;
    }
    if (batch.truncated(i)) ++c.msg_trunc;
    recs.clear();
    decode_cn_proc(batch.datagram(i), recs, c.decode);
    for (auto& rec : recs) {
      if (rec.cpu != kNoCpu) {
        if (auto l = loss.on_message(rec.cpu, rec.seq)) add_loss(*l, rec.event.ts_ns, rec.cpu);
      }
      if (rec.kind == CnRecordKind::kAck) {
        if (rec.cn_ack == our_ack) {
          if (rec.ack_err != 0) ++c.ack_error;
          std::lock_guard lk(ack_mu_);
          ack_seen_ = true;
          ack_err_ = rec.ack_err;
          ack_cv_.notify_all();
        }
        continue;
      }
      if (rec.kind != CnRecordKind::kEvent) continue;
      if (auto* ex = std::get_if<ExecEvent>(&rec.event.body); ex && ex->pid == ex->tid) {
        auto e = early.find(std::pair{rec.event.ts_ns, ex->pid});
        if (e != early.end()) {
          ex->capture = std::move(e->second);
          early.erase(e);
          ++c.exec_early;
        } else {
          // Not split, or the exec-only socket dropped it: read /proc now, before it is gone.
          ex->capture = reader_.capture_exec(ex->pid, cgroups_.get());
          if (split) ++c.exec_late;
        }
        if (!ex->capture.exe) ++c.exec_capture_missed;
      }
      ++c.events;
      out.push_back(std::move(rec.event));
    }
  };

  // Reads the full socket dry, then hands the batch on. Returns how many events and losses it
  // passed on.
  auto drain_full = [&]() -> size_t {
    for (;;) {
      auto r = sock_->recv_batch(batch, 0);
      if (!r) {
        if (r.error().errnum == ENOBUFS) {
          ++c.enobufs;
          loss.on_overrun();
          continue;
        }
        ++c.recv_error;
        publish();
        usleep(kBackoffMs * 1000);  // a persistent error must not spin the CPU
        return 0;
      }
      for (size_t i = 0; i < *r; ++i) take(i);
      if (*r < batch.capacity()) {  // the socket is empty right now
        // The kernel's drop counter says at once what the buffer refused; the per-CPU gaps
        // would say it only with each CPU's next message (never, for a CPU gone quiet).
        auto drops = sock_->drops();
        if (!drops) ++c.drop_counter_error;
        if (auto l = drops ? loss.on_drained(*drops) : loss.on_drained()) {
          add_loss(*l, monotonic_ns(), 0);
        }
        break;
      }
    }
    c.fork_start_missed += resolve_fork_starts(out, reader_);
    if (split) {
      // A capture whose event the full socket lost (counted there) must not pile up.
      const uint64_t cutoff = monotonic_ns() - uint64_t(2'000'000'000);
      while (!early.empty() && early.begin()->first.first < cutoff) {
        early.erase(early.begin());
        ++c.exec_unmatched;
      }
    }
    publish();  // first, so stats() already counts whatever a consumer can pop
    const size_t n = out.size();
    if (n) queue->push_batch(out);
    out.clear();
    return n;
  };

  // Split: wake for execs only, and read the full socket on a periodic timer (armed once,
  // not a timeout per wait: see wait_fds.h). When a read of it found nothing, disarm the
  // timer and wait on both sockets, so an idle machine costs no wakeups. Not split: wake per
  // message of the full socket. No wait has a timeout; stop() wakes us through wake_.
  const int wake_fd = wake_->fd();
  auto backoff = [&] {
    ++c.recv_error;
    usleep(kBackoffMs * 1000);  // a failing wait must not spin the CPU
  };
  bool idle = true;  // timer disarmed
  while (!stop_.load(std::memory_order_relaxed)) {
    if (!split) {
      if (timer_->armed()) (void)timer_->disarm();
      auto w = wait_readable({sock_->fd(), wake_fd}, -1);
      if (!w) backoff();
      if (w && (*w & 1)) drain_full();
      continue;
    }
    const int third = idle ? sock_->fd() : timer_->fd();
    auto w = wait_readable({exec_sock_->fd(), wake_fd, third}, -1);
    if (!w) backoff();
    if (!w || *w == 0) continue;  // EINTR
    if (*w & 1) drain_exec();
    if (!split || !(*w & 4)) continue;
    if (!idle) timer_->take();
    drain_exec();  // first, so that the full socket's execs find their captures
    const size_t n = drain_full();
    // A failing timer leaves us reading per message (idle): slower, never stuck.
    if (n == 0 && !idle) {
      if (timer_->disarm()) idle = true;
    } else if (n > 0 && idle) {
      if (timer_->arm(interval_ns)) idle = false;
    }
  }
  publish();
}

}  // namespace procwatch::netlink
