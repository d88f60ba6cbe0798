// Fuzz target: parse_cmdline (limits from the first two bytes), parse_cgroup and
// container_id_from_cgroup over the rest, plus the attr/exe helpers. Checks the bounds.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "procfs/parsers.h"

namespace pf = procwatch::procfs;

static void check_id(const std::string& id) {
  if (id.empty()) return;
  if (id.size() != 64) std::abort();
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) std::abort();
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t max_args = data[0] % 32;
  const size_t max_bytes = size_t(data[1]) * 4;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  bool truncated = false;
  auto argv = pf::parse_cmdline(text, max_args, max_bytes, &truncated);
  size_t bytes = 0;
  for (const auto& a : argv) bytes += a.size();
  if (argv.size() > max_args || bytes > max_bytes) std::abort();
  if (!truncated) {  // nothing dropped: args plus separators give back the text
    const size_t stripped = text.size() - (!text.empty() && text.back() == '\0' ? 1 : 0);
    if (text.empty() ? !argv.empty() : bytes + argv.size() - 1 != stripped) std::abort();
  }

  auto cg = pf::parse_cgroup(text);
  if (cg.ok()) {
    if (cg->empty() || text.find(*cg) == std::string_view::npos) std::abort();
    check_id(pf::container_id_from_cgroup(*cg));
  }
  check_id(pf::container_id_from_cgroup(text));

  auto ctx = pf::parse_attr_current(text);
  if (ctx.size() > text.size()) std::abort();
  auto exe = pf::parse_exe_link(text);
  if (exe.path.size() + (exe.deleted ? 10 : 0) != text.size()) std::abort();
  return 0;
}
