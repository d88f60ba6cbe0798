// Fuzz target: parse_cmdline (limits from the first two bytes), parse_cgroup and
// container_from_cgroup over the rest, plus the attr/exe helpers. Checks the bounds.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "procfs/parsers.h"

namespace pf = procwatch::procfs;

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// ids are 64 lowercase hex, or a name (LXC, systemd-nspawn) without '/' or control characters;
// a pod UID is 32 or 36 of hex and '-'; kind is "", "container" or "runtime".
static void check_ref(std::string_view path) {
  const pf::ContainerRef r = pf::container_from_cgroup(path);
  if (r.kind.empty() != r.runtime.empty()) std::abort();
  if (!r.kind.empty() && r.kind != "container" && r.kind != "runtime") std::abort();
  if (r.kind.empty() && !r.id.empty()) std::abort();
  if (r.runtime == "lxc" || r.runtime == "systemd-nspawn") {
    if (r.id.empty() || r.id.size() > 253) std::abort();
    for (char c : r.id) {
      if (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
    }
  } else if (!r.id.empty()) {
    if (r.id.size() != 64) std::abort();
    for (char c : r.id) {
      if (!is_hex(c)) std::abort();
    }
  }
  if (!r.pod_uid.empty()) {
    if (r.pod_uid.size() != 32 && r.pod_uid.size() != 36) std::abort();
    for (char c : r.pod_uid) {
      if (!is_hex(c) && c != '-') std::abort();
    }
  }
  const std::string id = pf::container_id_from_cgroup(path);
  if (id != (r.kind == "container" ? r.id : std::string())) std::abort();
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
    check_ref(*cg);
  }
  check_ref(text);

  auto ctx = pf::parse_attr_current(text);
  if (ctx.size() > text.size()) std::abort();
  auto exe = pf::parse_exe_link(text);
  if (exe.path.size() + (exe.deleted ? 10 : 0) != text.size()) std::abort();
  return 0;
}
