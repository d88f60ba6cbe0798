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
#include <vector>

#include "core/result.h"

namespace procwatch::baseline {

inline constexpr int kFormatVersion = 1;
inline constexpr size_t kMaxEntries = 100000;  // learning stops adding beyond this
inline constexpr size_t kMaxFlagged = 10000;   // flagged entries kept for review beyond this: counted

struct Key {
  std::string tree, exe, user;
  auto operator<=>(const Key&) const = default;
};

// A lookup key that borrows its strings: observe() finds an entry without copying three strings.
struct KeyView {
  std::string_view tree, exe, user;
};
struct KeyLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    if (int c = std::string_view(a.tree).compare(b.tree)) return c < 0;
    if (int c = std::string_view(a.exe).compare(b.exe)) return c < 0;
    return std::string_view(a.user).compare(b.user) < 0;
  }
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

  // One exec. True when it is in the baseline (or was learned now); false is unexpected: the
  // entry is then flagged (kept for review) and *first_flag says whether it was new.
  bool observe(std::string_view tree, std::string_view exe, std::string_view user, int64_t now,
               bool* first_flag = nullptr);
  bool contains(const Key& k) const { return entries_.count(k) != 0; }
  // Adds (or refreshes) an entry, unflagging it; false when the cap is reached.
  bool add(const Key& k, const Seen& s);
  // Removes every entry and every flagged entry of `tree`; how many.
  size_t forget(const std::string& tree);
  // Moves every flagged entry of `tree` into the baseline; how many.
  size_t approve(const std::string& tree);
  // Takes other's entries (first seen: the earlier, last seen: the later, counts added) and its
  // flagged entries that neither baseline holds.
  void merge(const Baseline& other);
  // Flags an entry (as observe() does when enforcing); false when over kMaxFlagged.
  bool flag(const Key& k, const Seen& s);

  using Map = std::map<Key, Seen, KeyLess>;
  const Map& entries() const { return entries_; }
  // Execs seen outside the baseline while enforcing, not yet approved or forgotten.
  const Map& flagged() const { return flagged_; }
  uint64_t dropped() const { return dropped_; }  // not learned: over kMaxEntries
  uint64_t flagged_dropped() const { return flagged_dropped_; }  // not kept: over kMaxFlagged

  std::string to_yaml() const;
  // Errors name the file, line and column, or the version found.
  static Result<Baseline> parse(std::string_view text, const std::string& file);
  // ENOENT in the error's errnum when the file does not exist.
  static Result<Baseline> load(const std::string& path);
  // Atomic: a temp file in the same directory, fsync, rename, fsync of the directory.
  Result<bool> save(const std::string& path) const;

 private:
  // The last entries found, by the exec's own (tree, exe, user): a repeated exec skips the exe
  // normalization and the map search. Holds iterators into entries_, so a copy or move of the
  // Baseline starts it empty and forget() (the only erase of entries) clears it.
  struct Memo {
    struct Slot {
      std::string tree, exe, user;
      Map::iterator it;
      bool valid = false;
    };
    static constexpr size_t kSlots = 256;
    std::vector<Slot> slots;
    Memo() = default;
    Memo(const Memo&) {}
    Memo& operator=(const Memo&) {
      slots.clear();
      return *this;
    }
  };

  Map entries_;
  Map flagged_;
  Memo memo_;
  uint64_t dropped_ = 0;
  uint64_t flagged_dropped_ = 0;
};

// RFC 3339 UTC seconds ("2026-12-01T12:00:00Z") and back; nullopt-like -1 when malformed.
std::string format_time(int64_t unix_s);
int64_t parse_time(std::string_view text);

}  // namespace procwatch::baseline
