#include "sources/netlink/cn_proc_decoder.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include <cstring>
#include <string>

namespace procwatch::netlink {
namespace {

// Offsets come from the uapi structs, but the buffer is never viewed through them.
static_assert(sizeof(nlmsghdr) == kNlmsgHdrLen);
static_assert(sizeof(cn_msg) == kCnMsgLen);
static_assert(sizeof(proc_event) == kProcEventLen);
static_assert(offsetof(proc_event, event_data) == kProcEventHdrLen);

constexpr size_t kUnion = offsetof(proc_event, event_data);
// Offsets inside the union (relative to its start), per event kind.
constexpr size_t union_off(size_t absolute) { return absolute - kUnion; }

constexpr uint32_t kWhatNone = proc_event::PROC_EVENT_NONE;
constexpr uint32_t kWhatFork = proc_event::PROC_EVENT_FORK;
constexpr uint32_t kWhatExec = proc_event::PROC_EVENT_EXEC;
constexpr uint32_t kWhatUid = proc_event::PROC_EVENT_UID;
constexpr uint32_t kWhatGid = proc_event::PROC_EVENT_GID;
constexpr uint32_t kWhatSid = proc_event::PROC_EVENT_SID;
constexpr uint32_t kWhatPtrace = proc_event::PROC_EVENT_PTRACE;
constexpr uint32_t kWhatComm = proc_event::PROC_EVENT_COMM;
constexpr uint32_t kWhatCoredump = proc_event::PROC_EVENT_COREDUMP;
constexpr uint32_t kWhatExit = proc_event::PROC_EVENT_EXIT;

// Bounds-checked little readers over a span; callers check sizes first, these check again.
template <class T>
T load(std::span<const std::byte> s, size_t off) {
  T v{};
  if (off <= s.size() && s.size() - off >= sizeof(T)) std::memcpy(&v, s.data() + off, sizeof(T));
  return v;
}

// Bytes of the union each kind needs (the kernel always sends the full 24-byte union).
size_t needed_union_bytes(uint32_t what) {
  switch (what) {
    case kWhatNone:
      return union_off(offsetof(proc_event, event_data.ack.err)) + 4;
    case kWhatFork:
      return union_off(offsetof(proc_event, event_data.fork.child_tgid)) + 4;
    case kWhatExec:
      return union_off(offsetof(proc_event, event_data.exec.process_tgid)) + 4;
    case kWhatUid:
    case kWhatGid:
      return union_off(offsetof(proc_event, event_data.id.e)) + 4;
    case kWhatSid:
      return union_off(offsetof(proc_event, event_data.sid.process_tgid)) + 4;
    case kWhatPtrace:
      return union_off(offsetof(proc_event, event_data.ptrace.tracer_tgid)) + 4;
    case kWhatComm:
      return union_off(offsetof(proc_event, event_data.comm.comm)) + 16;
    case kWhatCoredump:
      return union_off(offsetof(proc_event, event_data.coredump.parent_tgid)) + 4;
    case kWhatExit:
      return union_off(offsetof(proc_event, event_data.exit.parent_tgid)) + 4;
    default:
      return 0;
  }
}

// `ev` is the proc_event bytes (header + union), already checked to hold what `what` needs.
EventBody decode_body(uint32_t what, std::span<const std::byte> ev) {
  auto i32 = [&](size_t off) { return load<int32_t>(ev, off); };
  auto u32 = [&](size_t off) { return load<uint32_t>(ev, off); };
  // The kernel's "pid" is the thread id and "tgid" the process id.
  switch (what) {
    case kWhatFork: {
      ForkEvent f;
      f.parent_tid = i32(offsetof(proc_event, event_data.fork.parent_pid));
      f.parent_pid = i32(offsetof(proc_event, event_data.fork.parent_tgid));
      f.child_tid = i32(offsetof(proc_event, event_data.fork.child_pid));
      f.child_pid = i32(offsetof(proc_event, event_data.fork.child_tgid));
      return f;
    }
    case kWhatExec: {
      ExecEvent e;
      e.tid = i32(offsetof(proc_event, event_data.exec.process_pid));
      e.pid = i32(offsetof(proc_event, event_data.exec.process_tgid));
      return e;
    }
    case kWhatUid: {
      UidEvent u;
      u.tid = i32(offsetof(proc_event, event_data.id.process_pid));
      u.pid = i32(offsetof(proc_event, event_data.id.process_tgid));
      u.ruid = u32(offsetof(proc_event, event_data.id.r));
      u.euid = u32(offsetof(proc_event, event_data.id.e));
      return u;
    }
    case kWhatGid: {
      GidEvent g;
      g.tid = i32(offsetof(proc_event, event_data.id.process_pid));
      g.pid = i32(offsetof(proc_event, event_data.id.process_tgid));
      g.rgid = u32(offsetof(proc_event, event_data.id.r));
      g.egid = u32(offsetof(proc_event, event_data.id.e));
      return g;
    }
    case kWhatSid: {
      SidEvent s;
      s.tid = i32(offsetof(proc_event, event_data.sid.process_pid));
      s.pid = i32(offsetof(proc_event, event_data.sid.process_tgid));
      return s;
    }
    case kWhatPtrace: {
      PtraceEvent p;
      p.tid = i32(offsetof(proc_event, event_data.ptrace.process_pid));
      p.pid = i32(offsetof(proc_event, event_data.ptrace.process_tgid));
      p.tracer_tid = i32(offsetof(proc_event, event_data.ptrace.tracer_pid));
      p.tracer_pid = i32(offsetof(proc_event, event_data.ptrace.tracer_tgid));
      return p;
    }
    case kWhatComm: {
      CommEvent c;
      c.tid = i32(offsetof(proc_event, event_data.comm.process_pid));
      c.pid = i32(offsetof(proc_event, event_data.comm.process_tgid));
      char name[16];
      std::memcpy(name, ev.data() + offsetof(proc_event, event_data.comm.comm), sizeof(name));
      c.comm.assign(name,
                    strnlen(name, sizeof(name)));  // the kernel NUL-terminates; don't rely on it
      return c;
    }
    case kWhatCoredump: {
      CoredumpEvent c;
      c.tid = i32(offsetof(proc_event, event_data.coredump.process_pid));
      c.pid = i32(offsetof(proc_event, event_data.coredump.process_tgid));
      c.parent_tid = i32(offsetof(proc_event, event_data.coredump.parent_pid));
      c.parent_pid = i32(offsetof(proc_event, event_data.coredump.parent_tgid));
      return c;
    }
    case kWhatExit:
    default: {
      ExitEvent x;
      x.tid = i32(offsetof(proc_event, event_data.exit.process_pid));
      x.pid = i32(offsetof(proc_event, event_data.exit.process_tgid));
      x.exit_code = u32(offsetof(proc_event, event_data.exit.exit_code));
      x.exit_signal = u32(offsetof(proc_event, event_data.exit.exit_signal));
      x.parent_tid = i32(offsetof(proc_event, event_data.exit.parent_pid));
      x.parent_pid = i32(offsetof(proc_event, event_data.exit.parent_tgid));
      return x;
    }
  }
}

// One NLMSG_DONE payload: cn_msg + proc_event.
void decode_connector(std::span<const std::byte> payload, std::vector<CnProcRecord>& out,
                      CnProcStats& stats) {
  if (payload.size() < kCnMsgLen) {
    ++stats.truncated;
    return;
  }
  const auto idx = load<uint32_t>(payload, offsetof(cn_msg, id.idx));
  const auto val = load<uint32_t>(payload, offsetof(cn_msg, id.val));
  if (idx != CN_IDX_PROC || val != CN_VAL_PROC) {
    ++stats.bad_cn_id;
    return;
  }
  const auto data_len = load<uint16_t>(payload, offsetof(cn_msg, len));
  if (data_len > payload.size() - kCnMsgLen || data_len < kProcEventHdrLen) {
    ++stats.truncated;
    return;
  }
  const auto ev = payload.subspan(kCnMsgLen, data_len);

  CnProcRecord rec;
  rec.seq = load<uint32_t>(payload, offsetof(cn_msg, seq));
  rec.cn_ack = load<uint32_t>(payload, offsetof(cn_msg, ack));
  rec.what = load<uint32_t>(ev, offsetof(proc_event, what));
  rec.cpu = load<uint32_t>(ev, offsetof(proc_event, cpu));
  rec.event.cpu = rec.cpu;
  rec.event.ts_ns = load<uint64_t>(ev, offsetof(proc_event, timestamp_ns));

  const size_t need = needed_union_bytes(rec.what);
  if (need == 0) {
    ++stats.unknown_what;
    rec.kind = CnRecordKind::kUnknownWhat;
    out.push_back(std::move(rec));
    return;
  }
  if (ev.size() - kProcEventHdrLen < need) {
    ++stats.truncated;
    return;
  }
  if (rec.what == kWhatNone) {
    ++stats.acks;
    rec.kind = CnRecordKind::kAck;
    rec.ack_err = load<uint32_t>(ev, offsetof(proc_event, event_data.ack.err));
    out.push_back(std::move(rec));
    return;
  }
  rec.kind = CnRecordKind::kEvent;
  rec.event.body = decode_body(rec.what, ev);
  ++stats.events;
  out.push_back(std::move(rec));
}

}  // namespace

void decode_cn_proc(std::span<const std::byte> datagram, std::vector<CnProcRecord>& out,
                    CnProcStats& stats) {
  size_t off = 0;
  // Same walk as NLMSG_OK/NLMSG_NEXT, with every length checked before it is used.
  while (datagram.size() - off >= kNlmsgHdrLen) {
    const auto msg_len = load<uint32_t>(datagram, off + offsetof(nlmsghdr, nlmsg_len));
    const auto type = load<uint16_t>(datagram, off + offsetof(nlmsghdr, nlmsg_type));
    if (msg_len < kNlmsgHdrLen || msg_len > datagram.size() - off) {
      ++stats.truncated;  // cannot find the next header: the rest is unusable
      return;
    }
    ++stats.messages;
    const auto payload = datagram.subspan(off + kNlmsgHdrLen, msg_len - kNlmsgHdrLen);
    switch (type) {
      case NLMSG_DONE:  // the connector sends every message as a single-part "DONE"
        decode_connector(payload, out, stats);
        break;
      case NLMSG_ERROR:
        ++stats.nlmsg_error;
        break;
      case NLMSG_NOOP:
        ++stats.noop;
        break;
      case NLMSG_OVERRUN:
        ++stats.overrun;
        break;
      default:
        ++stats.unknown_type;
        break;
    }
    const size_t aligned = NLMSG_ALIGN(size_t{msg_len});
    if (aligned >= datagram.size() - off) return;  // last message (padding may be absent)
    off += aligned;
  }
  // Bytes left that cannot hold a header (padding was consumed with the message before).
  if (off < datagram.size()) ++stats.truncated;
}

}  // namespace procwatch::netlink
