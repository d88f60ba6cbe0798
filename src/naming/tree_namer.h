// TreeNamer: the tree name of a process ("/sshd/base/server.sh/sudo/base/prom-cnproc"), computed
// once per exec from the parent's already-computed name plus the process's own label, so the cost
// does not grow with depth. Construction reads the package database (start-up only); afterwards
// all methods are const and safe to call from any thread. Nothing throws after construction.
//
// Name format: "/" + labels joined by "/", oldest first. A leading "random" component marks a
// chain in which some exe or script lives under a random-looking directory; it appears at most
// once, and consecutive equal components collapse (also across that prefix, so "/random" plus a
// label "random" stays "/random"). So the string alone is the full state a child needs. "/" is a
// named chain with no labels (e.g. everything omitted); "" means "not named".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/proc_info.h"
#include "naming/base_set.h"

namespace procwatch {

struct NamingOptions {
  std::string dpkg_root = "/var/lib/dpkg";  // "" = do not look for dpkg, use the built-in list
  std::vector<std::string> omit = {"systemd", "init"};  // labels left out of names
  std::vector<std::string> extra_base, not_base;        // adjust the base set
  std::vector<std::string> extra_interpreters;          // generic: first non-option arg = script
  size_t max_depth_labels = 32;  // cap on labels; older ones become "..." (0 = no cap)
  size_t max_label_chars = 64;   // a longer label is cut (bounded metric label values)
};

class TreeNamer {
 public:
  static constexpr std::string_view kBase = "base";
  static constexpr std::string_view kRandom = "random";
  static constexpr std::string_view kElided = "...";

  // Loads the base set from options.dpkg_root (falls back to the built-in list).
  explicit TreeNamer(NamingOptions options = {});
  // Uses `base` as loaded; extra_base / not_base are still applied.
  TreeNamer(NamingOptions options, BaseSet base);

  // Label of one process: script name for an interpreter running a script, "base" for a basic
  // utility, else the exe base name (comm when the exe is unknown); "random" for a
  // random-looking file name.
  std::string label(const ProcInfo& self) const;

  // Tree name of `self` given its parent (may be null). Uses parent->tree, never walks further
  // up. The chain starts at self when the parent is null, unnamed (empty tree), PID 1, or a
  // different process than self's recorded parent (start time mismatch).
  std::string name(const ProcInfo& self, const ProcInfo* parent) const;

  bool is_base(std::string_view exe_base_name) const { return base_.contains(exe_base_name); }
  const BaseSet& base_set() const { return base_; }
  const NamingOptions& options() const { return options_; }

 private:
  struct Classified {
    std::string label;
    bool random_dir = false;  // exe or script under a random-looking directory
  };
  Classified classify(const ProcInfo& p) const;
  std::string sanitize(std::string_view raw) const;
  bool omitted(std::string_view label) const;

  NamingOptions options_;
  BaseSet base_;
};

}  // namespace procwatch
