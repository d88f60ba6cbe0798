// Fuzz target: parse_status never crashes; success implies Uid and Gid lines were present.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "procfs/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto st = procwatch::procfs::parse_status(text);
  if (st.ok()) {
    if (text.find("Uid:") == std::string_view::npos) std::abort();
    if (text.find("Gid:") == std::string_view::npos) std::abort();
    if (st->name.size() > size) std::abort();
  } else if (st.error().message.empty()) {
    std::abort();
  }
  return 0;
}
