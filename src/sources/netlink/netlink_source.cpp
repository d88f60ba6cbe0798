#include "sources/netlink/netlink_source.h"

#include <pthread.h>
#include <sched.h>

#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "core/clock.h"

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
// so that a message is never counted twice.

namespace procwatch::netlink {
namespace {

constexpr int kPollMs = 50;               // how long the reader waits before re-checking stop_
constexpr uint32_t kNoCpu = 0xffffffffu;  // acks from kernels before 6.x carry cpu = -1

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

namespace {

// Counters the reader thread keeps and publishes once per batch.
struct ReaderCounters {
  uint64_t events = 0, lost = 0;
  uint64_t enobufs = 0, seq_gap = 0, enobufs_lost = 0, seq_gap_lost = 0;
  uint64_t recv_error = 0, foreign_sender = 0, msg_trunc = 0, ack_error = 0;
  uint64_t exec_capture_missed = 0, fork_start_missed = 0;
  CnProcStats decode;
};

}  // namespace

NetlinkSource::NetlinkSource(const procfs::ProcReader& reader, NetlinkOptions opts)
    : reader_(reader), opts_(opts) {
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
  {
    std::lock_guard slk(stats_mu_);
    stats_ = SourceStats{};  // counters are per run
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
    ++stats_.counters["no_ack"];
  }
  return true;
}

void NetlinkSource::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  sock_.reset();  // unsubscribes and closes
}

SourceStats NetlinkSource::stats() const {
  std::lock_guard lk(stats_mu_);
  return stats_;
}

void NetlinkSource::run(EventQueue* queue) {
  if (opts_.realtime_reader) {
    // Bounded work per wakeup (drain + a few /proc reads), so FIFO cannot starve the machine;
    // the kernel's RT throttling is a further backstop. Without permission we run as before.
    sched_param sp{};
    sp.sched_priority = 1;
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0) {
      std::lock_guard lk(stats_mu_);
      ++stats_.counters["realtime_refused"];
    }
  }
  RecvBatch batch(opts_.batch_size, 2048);
  std::vector<CnProcRecord> recs;
  std::vector<ProcEvent> out;
  out.reserve(opts_.batch_size * 2);
  LossAccounting loss;
  ReaderCounters c;
  const uint32_t our_ack = nonce_ + 1;

  auto add_loss = [&](const LostEvent& l, uint64_t ts, uint32_t cpu) {
    c.lost += l.count;
    if (l.reason == "enobufs") {
      c.enobufs_lost += l.count;
    } else {
      ++c.seq_gap;
      c.seq_gap_lost += l.count;
    }
    out.push_back(ProcEvent{ts, cpu, l});
  };

  auto publish = [&] {
    std::lock_guard lk(stats_mu_);
    stats_.events = c.events;
    stats_.lost = c.lost;
    stats_.malformed = c.decode.malformed();
    auto& m = stats_.counters;
    m["nlmsg_error"] = c.decode.nlmsg_error;
    m["noop"] = c.decode.noop;
    m["overrun"] = c.decode.overrun;
    m["unknown_type"] = c.decode.unknown_type;
    m["bad_cn_id"] = c.decode.bad_cn_id;
    m["unknown_what"] = c.decode.unknown_what;
    m["truncated"] = c.decode.truncated;
    m["ack"] = c.decode.acks;
    m["ack_error"] = c.ack_error;
    m["enobufs"] = c.enobufs;
    m["enobufs_lost"] = c.enobufs_lost;
    m["seq_gap"] = c.seq_gap;
    m["seq_gap_lost"] = c.seq_gap_lost;
    m["recv_error"] = c.recv_error;
    m["foreign_sender"] = c.foreign_sender;
    m["msg_trunc"] = c.msg_trunc;
    m["exec_capture_missed"] = c.exec_capture_missed;
    m["fork_start_missed"] = c.fork_start_missed;
  };

  while (!stop_.load(std::memory_order_relaxed)) {
    auto r = sock_->recv_batch(batch, kPollMs);
    if (!r) {
      if (r.error().errnum == ENOBUFS) {
        ++c.enobufs;
        loss.on_overrun();
      } else {
        ++c.recv_error;
        usleep(kPollMs * 1000);  // a persistent error must not spin the CPU
      }
      publish();
      continue;
    }
    const size_t n = r.value();
    for (size_t i = 0; i < n; ++i) {
      if (batch.sender_port(i) != 0) {  // only the kernel (port 0) sends proc events
        ++c.foreign_sender;
        continue;
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
        // The one exception to "only drain": read /proc now, before the process is gone.
        if (auto* ex = std::get_if<ExecEvent>(&rec.event.body); ex && ex->pid == ex->tid) {
          ex->capture = reader_.capture_exec(ex->pid);
          if (!ex->capture.exe) ++c.exec_capture_missed;
        } else if (auto* f = std::get_if<ForkEvent>(&rec.event.body);
                   f && f->child_pid == f->child_tid) {
          f->child_start_time = reader_.read_start_time(f->child_pid);
          if (!f->child_start_time) ++c.fork_start_missed;
        }
        ++c.events;
        out.push_back(std::move(rec.event));
      }
    }
    if (n < batch.capacity()) {  // the socket is empty right now
      if (auto l = loss.on_drained()) add_loss(*l, monotonic_ns(), 0);
    }
    publish();  // first, so stats() already counts whatever a consumer can pop
    if (!out.empty()) queue->push_batch(out);
  }
}

}  // namespace procwatch::netlink
