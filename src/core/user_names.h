// UserNameCache: uid -> user name, the one cache every lookup goes through (the procfs reader
// for ProcInfo::user, the table's enricher, rule `-u` arguments). NSS may sit on LDAP or sssd
// and block for seconds, so misses are cached too (for miss_ttl), and the cache is bounded
// (capacity entries; the oldest goes first). Thread-safe: one mutex, never held during a
// lookup (two threads may look up the same uid at once; both get the same answer).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace procwatch {

class UserNameCache {
 public:
  // The name of uid, nullopt when there is none. Default: getpwuid_r.
  using Lookup = std::function<std::optional<std::string>(uint32_t uid)>;
  using Clock = std::chrono::steady_clock;

  static constexpr size_t kDefaultCapacity = 4096;
  static constexpr std::chrono::seconds kDefaultMissTtl{60};

  explicit UserNameCache(size_t capacity = kDefaultCapacity, Lookup lookup = {},
                         std::chrono::seconds miss_ttl = kDefaultMissTtl);

  // The process-wide cache (getpwuid_r), shared by every caller that is not handed another.
  static UserNameCache& shared();

  // The name, or nullopt when uid has none (a cached miss counts).
  std::optional<std::string> find(uint32_t uid);
  // The name, or the uid in decimal when there is none (what ps prints).
  std::string name_or_number(uint32_t uid);

  size_t size() const;
  uint64_t lookups() const;  // calls of the Lookup (cache misses), for tests and metrics

 private:
  struct Entry {
    std::optional<std::string> name;
    Clock::time_point looked_up;
  };

  const size_t capacity_;
  const Lookup lookup_;
  const std::chrono::seconds miss_ttl_;
  mutable std::mutex mu_;
  std::unordered_map<uint32_t, Entry> entries_;
  std::deque<uint32_t> order_;  // insertion order, for eviction
  uint64_t lookups_ = 0;
};

// getpwuid_r, growing its buffer on ERANGE. nullopt when the uid has no entry (or NSS fails).
std::optional<std::string> system_user_name(uint32_t uid);

}  // namespace procwatch
