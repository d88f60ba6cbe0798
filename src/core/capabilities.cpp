#include "core/capabilities.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace procwatch {

namespace {

// Index = capability number, as in <linux/capability.h> of Linux 6.x.
constexpr std::array<const char*, 41> kNames = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
static_assert(kCapPerfmon == 38 && kCapBpf == 39 && kCapSysPtrace == 19 && kCapNetAdmin == 12 &&
              kCapDacReadSearch == 2 && kCapSysNice == 23);

char upper(char c) { return c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c; }

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

}  // namespace

std::vector<int> CapSet::members() const {
  std::vector<int> out;
  for (int c = 0; c <= kCapMax; ++c)
    if (has(c)) out.push_back(c);
  return out;
}

std::string cap_name(int cap) {
  if (cap >= 0 && size_t(cap) < kNames.size()) return kNames[size_t(cap)];
  return "CAP_" + std::to_string(cap);
}

std::optional<int> cap_from_name(std::string_view name) {
  if (name.size() > 4 && iequal(name.substr(0, 4), "CAP_")) name.remove_prefix(4);
  if (name.empty()) return std::nullopt;
  for (size_t i = 0; i < kNames.size(); ++i)
    if (iequal(std::string_view(kNames[i]).substr(4), name)) return int(i);
  return std::nullopt;
}

Result<CapSet> parse_cap_list(std::string_view text) {
  CapSet out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ',' || text[i] == ' ' || text[i] == '\t')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ',' && text[j] != ' ' && text[j] != '\t') ++j;
    if (j == i) break;
    std::string_view item = text.substr(i, j - i);
    if (item.front() == '+') item.remove_prefix(1);
    auto cap = cap_from_name(item);
    if (!cap) return make_error("unknown capability '" + std::string(text.substr(i, j - i)) + "'");
    out.add(*cap);
    i = j;
  }
  return out;
}

std::string format_caps(CapSet caps, std::string_view sep) {
  std::string out;
  for (int c : caps.members()) {
    if (!out.empty()) out += sep;
    out += cap_name(c);
  }
  return out;
}

std::optional<CapSet> parse_cap_mask(std::string_view hex) {
  while (!hex.empty() && (hex.front() == ' ' || hex.front() == '\t')) hex.remove_prefix(1);
  while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\n')) hex.remove_suffix(1);
  if (hex.empty() || hex.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : hex) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = v << 4 | uint64_t(d);
  }
  return CapSet(v);
}

Result<CapSet> effective_caps() {
  __user_cap_header_struct hdr{};
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  hdr.pid = 0;  // this thread
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (::syscall(SYS_capget, &hdr, data) != 0)
    return make_error(std::string("capget: ") + std::strerror(errno), errno);
  return CapSet(uint64_t(data[1].effective) << 32 | data[0].effective);
}

}  // namespace procwatch
