// Pure decoder for proc connector datagrams (NETLINK_CONNECTOR, CN_IDX_PROC): bytes in,
// records out. No I/O, no state, never throws; fields are copied out with memcpy after length
// checks. Thread-safe (stateless).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/proc_event.h"

namespace procwatch::netlink {

// What the decoder skipped or saw, by kind. Accumulated across calls (the caller owns it).
struct CnProcStats {
  uint64_t messages = 0;      // netlink messages walked (headers that could be read)
  uint64_t events = 0;        // proc events decoded into ProcEvents
  uint64_t acks = 0;          // PROC_EVENT_NONE: the reply to a subscribe, not an event
  uint64_t nlmsg_error = 0;   // NLMSG_ERROR
  uint64_t noop = 0;          // NLMSG_NOOP
  uint64_t overrun = 0;       // NLMSG_OVERRUN
  uint64_t unknown_type = 0;  // any other nlmsg_type than DONE (the connector uses DONE)
  uint64_t bad_cn_id = 0;     // cn_msg idx/val not CN_IDX_PROC/CN_VAL_PROC
  uint64_t unknown_what = 0;  // proc_event.what not known to this decoder
  uint64_t truncated = 0;     // any length that does not add up (header, payload, fields)

  // Messages that could not be decoded at all (the rest were understood and skipped).
  uint64_t malformed() const { return truncated; }
};

enum class CnRecordKind : uint8_t { kEvent, kAck, kUnknownWhat };

// One well-formed proc connector message. seq and cpu are returned for every kind, because
// acks and unknown events consume per-CPU sequence numbers too (see SeqTracker).
struct CnProcRecord {
  CnRecordKind kind = CnRecordKind::kEvent;
  uint32_t seq = 0;      // cn_msg.seq: per-CPU counter on current kernels
  uint32_t cn_ack = 0;   // cn_msg.ack: for an ack, the subscriber's ack + 1
  uint32_t cpu = 0;      // proc_event.cpu; 0xffffffff on acks from old kernels
  uint32_t what = 0;     // proc_event.what as received
  uint32_t ack_err = 0;  // for kAck: errno of the subscribe (0 = ok)
  ProcEvent event;       // for kEvent only (ts_ns and cpu are also set for the others)
};

// Sizes of the wire structs (checked against <linux/*.h> in the .cpp).
inline constexpr size_t kNlmsgHdrLen = 16;
inline constexpr size_t kCnMsgLen = 20;
inline constexpr size_t kProcEventHdrLen = 16;  // what, cpu, timestamp_ns
inline constexpr size_t kProcEventLen = 40;     // header + largest union member
inline constexpr size_t kProcDatagramLen = kNlmsgHdrLen + kCnMsgLen + kProcEventLen;  // 76

// Walks every netlink message in one received datagram and appends one record per
// well-formed proc connector message to `out`. Everything else is counted in `stats` and
// skipped; a header that cannot be trusted (length too small or past the end) ends the walk.
void decode_cn_proc(std::span<const std::byte> datagram, std::vector<CnProcRecord>& out,
                    CnProcStats& stats);

}  // namespace procwatch::netlink
