// Baseline: the process trees a machine runs, learned for a while and then enforced, so a launch
// never seen before stands out. An entry is (tree name, exe path, user) with first/last seen
// and a count; exe directories that look random (mktemp) are folded into "<random>" so each run
// of a temp script is the same entry. Kept as plain, sorted YAML (diffable, reviewable).
// Not thread-safe: one owner (the engine thread in serve, or a CLI command).
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace procwatch::baseline {

inline constexpr int kFormatVersion = 1;
inline constexpr size_t kMaxEntries = 100000;  // learning stops adding beyond this

struct Key {
  std::string tree, exe, user;
  auto operator<=>(const Key&) const = default;
};

struct Seen {
  int64_t first_seen = 0, last_seen = 0;  // unix seconds
  uint64_t count = 0;
};

// "/tmp/tmp.k3JdQ2/run.sh" -> "/tmp/<random>/run.sh"; other paths unchanged.
std::string normalize_exe(std::string_view exe);

class Baseline {
 public:
  // Learning runs from learn_started for learn_for_s seconds; frozen ends it at once.
  int64_t learn_started = 0;
  int64_t learn_for_s = 24 * 3600;
  bool frozen = false;

  bool learning(int64_t now) const { return !frozen && now < learn_started + learn_for_s; }

  // One exec. True when it is in the baseline (or was learned now); false is unexpected.
  bool observe(const std::string& tree, std::string_view exe, const std::string& user,
               int64_t now);
  bool contains(const Key& k) const { return entries_.count(k) != 0; }
  // Adds (or refreshes) an entry; false when the cap is reached.
  bool add(const Key& k, const Seen& s);
  // Removes every entry of `tree`; how many.
  size_t forget(const std::string& tree);
  // Takes other's entries (first seen: the earlier, last seen: the later, counts added).
  void merge(const Baseline& other);

  const std::map<Key, Seen>& entries() const { return entries_; }
  uint64_t dropped() const { return dropped_; }  // not learned: over kMaxEntries

  std::string to_yaml() const;
  // Errors name the file, line and column, or the version found.
  static Result<Baseline> parse(std::string_view text, const std::string& file);
  // ENOENT in the error's errnum when the file does not exist.
  static Result<Baseline> load(const std::string& path);
  // Atomic: a temp file in the same directory, fsync, rename, fsync of the directory.
  Result<bool> save(const std::string& path) const;

 private:
  std::map<Key, Seen> entries_;
  uint64_t dropped_ = 0;
};

// RFC 3339 UTC seconds ("2026-12-01T12:00:00Z") and back; nullopt-like -1 when malformed.
std::string format_time(int64_t unix_s);
int64_t parse_time(std::string_view text);

}  // namespace procwatch::baseline
