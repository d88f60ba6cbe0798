// Decoder for the eBPF ring-buffer records (ebpf_record.h): a pure function over bytes. It
// checks every length, copies fields out with memcpy and never keeps a pointer into the
// buffer. Thread-safe (no state). Malformed input gives an Error the caller counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/proc_event.h"
#include "core/result.h"

namespace procwatch::ebpf {

struct DecodeOptions {
  uint64_t clock_hz = 100;  // USER_HZ for start times in clock ticks (sysconf(_SC_CLK_TCK))
  size_t max_args = 1024;   // argv entries kept; more sets argv_truncated
};

// ns since boot (task->start_boottime) -> clock ticks, exactly as /proc/PID/stat field 22
// computes it (nsec_to_clock_t: ns / (NSEC_PER_SEC / USER_HZ)).
uint64_t boottime_ns_to_ticks(uint64_t ns, uint64_t clock_hz);

// One record -> ForkEvent, ExecEvent (ExecCapture filled except `cgroup`, which needs a
// CgroupResolver) or ExitEvent. Error on short input, a size field that disagrees with the
// input or the record type, lengths past the record, or an unknown type.
Result<ProcEvent> decode_ebpf_record(std::span<const std::byte> bytes,
                                     const DecodeOptions& opts = {});

}  // namespace procwatch::ebpf
