// libFuzzer target: decode_ebpf_record must reject or decode any bytes without crashing or
// reading past the input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "sources/ebpf/ebpf_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto ev = procwatch::ebpf::decode_ebpf_record(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size));
  if (ev) {
    if (auto* e = std::get_if<procwatch::ExecEvent>(&ev->body)) {
      size_t n = e->capture.exe ? e->capture.exe->size() : 0;
      if (e->capture.argv)
        for (const auto& a : *e->capture.argv) n += a.size();
      if (n > 2 * 4096 + 16) __builtin_trap();  // decoded more than a record can carry
    }
  }
  return 0;
}
