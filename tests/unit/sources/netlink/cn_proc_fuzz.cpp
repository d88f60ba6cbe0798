// libFuzzer target: any bytes as one received datagram, through the decoder and the loss
// accounting the reader thread runs on its records.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "sources/netlink/cn_proc_decoder.h"
#include "sources/netlink/seq_tracker.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace procwatch::netlink;
  std::vector<CnProcRecord> recs;
  CnProcStats stats;
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  decode_cn_proc(bytes, recs, stats);
  // Every record came from a message of at least 16 + 20 + 16 bytes.
  if (recs.size() * (kNlmsgHdrLen + kCnMsgLen + kProcEventHdrLen) > size) std::abort();
  if (stats.events + stats.acks + stats.unknown_what != recs.size()) std::abort();
  LossAccounting loss;
  for (const auto& r : recs) {
    if (r.kind == CnRecordKind::kEvent && r.event.body.valueless_by_exception()) std::abort();
    (void)loss.on_message(r.cpu, r.seq);
  }
  loss.on_overrun();
  (void)loss.on_drained();
  return 0;
}
