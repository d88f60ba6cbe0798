// The "base" set: executables of the distribution's Essential packages (dpkg) or a built-in list
// of basic utilities. Loaded once at start-up; afterwards an immutable value, safe to share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace procwatch {

class BaseSet {
 public:
  enum class Source { kDpkg, kBuiltin };

  BaseSet() = default;
  BaseSet(std::vector<std::string> names, Source source);

  bool contains(std::string_view name) const;
  void add(std::string_view name);
  void remove(std::string_view name);
  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }  // sorted, unique
  Source source() const { return source_; }

 private:
  std::vector<std::string> names_;
  Source source_ = Source::kBuiltin;
};

// Base names of the files in /bin, /sbin, /usr/bin, /usr/sbin of every package that is
// `Essential: yes` and `Status: install ok installed` in <dpkg_root>/status, read from
// <dpkg_root>/info/<pkg>.list or <pkg>:<arch>.list. Error when the status file is unreadable
// (no dpkg on this system); an essential package without a list file is skipped.
Result<BaseSet> load_dpkg_base_set(const std::string& dpkg_root);

// Basic utilities for systems without a dpkg database: coreutils, shells, grep, sed, awk, ...
BaseSet builtin_base_set();

// The dpkg set when `dpkg_root` holds a database, else the built-in set.
BaseSet load_base_set(const std::string& dpkg_root);

}  // namespace procwatch
