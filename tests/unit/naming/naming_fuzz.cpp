// Fuzzes labels and names over arbitrary exe/argv/parent tree (argv is chosen by any local
// user) and checks the name invariants: starts with '/', no empty component, "random" only
// first, at most max_depth_labels labels, each at most max_label_chars bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "naming/random_name.h"
#include "naming/tree_namer.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_name(const procwatch::TreeNamer& namer, const std::string& name) {
  check(!name.empty() && name.front() == '/');
  if (name == "/") return;
  size_t labels = 0, i = 1;
  std::string_view prev;
  while (i <= name.size()) {
    size_t end = name.find('/', i);
    if (end == std::string::npos) end = name.size();
    std::string_view comp = std::string_view(name).substr(i, end - i);
    check(!comp.empty());
    check(comp != prev);  // consecutive equal components collapse
    if (comp == "random") check(i == 1 || prev != "random");
    if (i > 1 || comp != "random") {
      ++labels;
      check(comp.size() <= namer.options().max_label_chars);
    }
    prev = comp;
    i = end + 1;
  }
  check(labels <= namer.options().max_depth_labels);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const procwatch::TreeNamer namer([] {
    procwatch::NamingOptions o;
    o.dpkg_root = "";  // built-in base set: no file I/O per run
    o.max_depth_labels = 6;
    o.max_label_chars = 16;
    return o;
  }());
  // Layout: parent-tree '\0' exe '\0' comm '\0' argv0 '\0' argv1 ...
  std::vector<std::string> parts;
  std::string cur;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(data[i]));
    }
  }
  parts.push_back(cur);
  while (parts.size() < 3) parts.emplace_back();

  procwatch::ProcInfo parent;
  parent.key = {100, 1};
  procwatch::ProcInfo self;
  self.key = {101, 2};
  self.ppid = 100;
  self.exe = parts[1];
  self.comm = parts[2];
  self.argv.assign(parts.begin() + 3, parts.end());

  (void)procwatch::is_random_name(parts[0]);
  (void)procwatch::has_random_dir(parts[1]);
  std::string label = namer.label(self);
  check(!label.empty() && label.find('/') == std::string::npos);

  // A parent name made by the namer itself, then self under it.
  parent.exe = parts[0];
  parent.argv = {parts[0]};
  parent.tree = namer.name(parent, nullptr);
  check_name(namer, parent.tree);
  std::string name = namer.name(self, &parent);
  check_name(namer, name);
  // Grandchild: feeding a name back in stays valid.
  procwatch::ProcInfo child = self;
  child.key = {102, 3};
  child.ppid = 101;
  self.tree = name;
  check_name(namer, namer.name(child, &self));
  return 0;
}
