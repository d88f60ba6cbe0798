// EbpfLoader: the system-call shim around the bpftool skeleton (procwatch.bpf.c). Owns the
// loaded programs, links and ring buffer; closing it detaches everything. Not thread-safe:
// one thread polls. Errors are one line for the user, with errno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "core/result.h"

namespace procwatch::ebpf {

struct LoaderOptions {
  size_t ringbuf_bytes = 16u << 20;  // power of two, >= page size
  uint32_t max_args_bytes = 4096;    // argv bytes copied per exec, at most 4096
};

class EbpfLoader {
 public:
  // Called for each ring-buffer record, on the polling thread, with bytes valid only during
  // the call.
  using RecordFn = std::function<void(std::span<const std::byte>)>;

  // Opens the skeleton, sizes the ring buffer, loads and attaches the programs.
  static Result<std::unique_ptr<EbpfLoader>> create(const LoaderOptions& opts, RecordFn on_record);
  ~EbpfLoader();
  EbpfLoader(const EbpfLoader&) = delete;
  EbpfLoader& operator=(const EbpfLoader&) = delete;

  // Waits up to timeout_ms and consumes available records. Returns the number consumed, or
  // an Error (EINTR is reported as 0 records).
  Result<int> poll(int timeout_ms);
  // Sum over CPUs of records the kernel could not reserve in the ring buffer.
  uint64_t lost_total() const;

 private:
  struct Impl;
  explicit EbpfLoader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace procwatch::ebpf
