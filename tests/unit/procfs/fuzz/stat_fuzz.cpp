// Fuzz target: parse_stat must never crash or overread, and what it returns must be
// consistent with the input (comm is a substring between parentheses).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "procfs/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto st = procwatch::procfs::parse_stat(text);
  if (st.ok()) {
    if (st->comm.size() + 2 > size) std::abort();
    if (text.find("(" + st->comm + ")") == std::string_view::npos) std::abort();
  } else if (st.error().message.empty()) {
    std::abort();
  }
  return 0;
}
