// Linux capabilities of this process: which ones it has in its effective set, by the kernel's
// numbers (<linux/capability.h>), and their names ("CAP_BPF"). capget(2) directly, no libcap.
// Everything here is a pure function except effective_caps(), which makes one system call.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace procwatch {

// The capabilities procwatch's sources care about (numbers are the kernel ABI).
inline constexpr int kCapDacReadSearch = 2;
inline constexpr int kCapNetAdmin = 12;
inline constexpr int kCapSysPtrace = 19;
inline constexpr int kCapSysAdmin = 21;
inline constexpr int kCapSysNice = 23;
inline constexpr int kCapPerfmon = 38;
inline constexpr int kCapBpf = 39;
inline constexpr int kCapMax = 63;  // CapSet holds 0..63

// A set of capability numbers (0..63), as the kernel's 64-bit masks.
class CapSet {
 public:
  constexpr CapSet() = default;
  constexpr explicit CapSet(uint64_t mask) : mask_(mask) {}
  constexpr CapSet(std::initializer_list<int> caps) {
    for (int c : caps) add(c);
  }
  constexpr bool has(int cap) const { return cap >= 0 && cap <= kCapMax && (mask_ >> cap) & 1; }
  constexpr void add(int cap) {
    if (cap >= 0 && cap <= kCapMax) mask_ |= uint64_t{1} << cap;
  }
  constexpr uint64_t mask() const { return mask_; }
  constexpr bool empty() const { return mask_ == 0; }
  // The members of this set not in `have`.
  constexpr CapSet minus(CapSet have) const { return CapSet(mask_ & ~have.mask_); }
  std::vector<int> members() const;  // ascending
  friend constexpr bool operator==(CapSet a, CapSet b) { return a.mask_ == b.mask_; }

 private:
  uint64_t mask_ = 0;
};

// "CAP_BPF" for 39; "CAP_63" style for numbers without a name.
std::string cap_name(int cap);
// Accepts "CAP_BPF", "cap_bpf" and "bpf" (as setpriv and capsh spell them); nullopt if unknown.
std::optional<int> cap_from_name(std::string_view name);
// A list separated by commas and/or blanks ("CAP_BPF,cap_perfmon sys_ptrace"); an optional
// leading '+' per item is ignored. Error names the first unknown item.
Result<CapSet> parse_cap_list(std::string_view text);
// Members' names joined by `sep`, ascending by number ("CAP_BPF CAP_PERFMON" is 38 first:
// "CAP_PERFMON CAP_BPF"); "" for an empty set.
std::string format_caps(CapSet caps, std::string_view sep = " ");
// The 16-hex-digit mask of /proc/PID/status's CapEff:/CapPrm:/... lines; nullopt if malformed.
std::optional<CapSet> parse_cap_mask(std::string_view hex);

// This thread's effective capabilities (capget(2), version 3). Error with errno on failure.
Result<CapSet> effective_caps();

}  // namespace procwatch
