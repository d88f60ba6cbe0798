#include "naming/tree_namer.h"

#include <algorithm>
#include <optional>

#include "naming/interpreter.h"
#include "naming/random_name.h"

namespace procwatch {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

}  // namespace

TreeNamer::TreeNamer(NamingOptions options)
    : TreeNamer(options, load_base_set(options.dpkg_root)) {}

TreeNamer::TreeNamer(NamingOptions options, BaseSet base)
    : options_(std::move(options)), base_(std::move(base)) {
  for (const auto& n : options_.extra_base) base_.add(n);
  for (const auto& n : options_.not_base) base_.remove(n);
}

bool TreeNamer::omitted(std::string_view label) const { return contains(options_.omit, label); }

std::string TreeNamer::sanitize(std::string_view raw) const {
  std::string out;
  out.reserve(std::min(raw.size(), options_.max_label_chars));
  for (char c : raw) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(c == '/' ? '_' : (u < 0x20 || u == 0x7f) ? '?' : c);
  }
  if (options_.max_label_chars > 0 && out.size() > options_.max_label_chars) {
    size_t cut = options_.max_label_chars;
    // Do not split a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  if (out.empty()) out = "unknown";
  return out;
}

TreeNamer::Classified TreeNamer::classify(const ProcInfo& p) const {
  Classified out;
  out.random_dir = has_random_dir(p.exe);
  const Program program = program_of(p);
  const std::string_view prog = program.name, applet = program.applet;

  if (!omitted(prog)) {
    ScriptRef ref = process_script(p, program, options_.extra_interpreters);
    if (ref.kind == ScriptRef::Kind::kScript && !path_base(ref.value).empty()) {
      std::string_view file = path_base(ref.value);
      out.random_dir = out.random_dir || has_random_dir(ref.value);
      out.label = is_random_name(file) ? std::string(kRandom) : sanitize(file);
      return out;
    }
    if (ref.kind == ScriptRef::Kind::kModule) {
      out.label = is_random_name(ref.value) ? std::string(kRandom) : sanitize(ref.value);
      return out;
    }
    if (base_.contains(prog) || (!applet.empty() && base_.contains(applet))) {
      out.label = kBase;
      return out;
    }
  }
  out.label = is_random_name(prog) ? std::string(kRandom) : sanitize(prog);
  return out;
}

std::string TreeNamer::label(const ProcInfo& self) const { return classify(self).label; }

std::string TreeNamer::name(const ProcInfo& self, const ProcInfo* parent) const {
  Classified me = classify(self);

  bool use_parent = parent != nullptr && !parent->tree.empty() && parent->tree.front() == '/' &&
                    parent->key.pid != 1 && self.ppid != 1 && self.key.pid != 1;
  if (use_parent && self.parent_start_time != 0 && parent->key.start_time != 0 &&
      self.parent_start_time != parent->key.start_time) {
    use_parent = false;  // the pid was reused: not our parent
  }

  // The parent's components. Bounded by max_depth_labels, so this is constant work.
  std::vector<std::string_view> labels;
  labels.reserve(options_.max_depth_labels > 0 ? options_.max_depth_labels + 2 : 16);
  bool random = me.random_dir;
  if (use_parent) {
    std::string_view tree = parent->tree;
    size_t i = 1;
    while (i < tree.size()) {
      size_t end = tree.find('/', i);
      if (end == std::string_view::npos) end = tree.size();
      if (end > i) labels.push_back(tree.substr(i, end - i));
      i = end + 1;
    }
    if (!labels.empty() && labels.front() == kRandom) {
      random = true;
      labels.erase(labels.begin());
    }
  }

  const std::string_view mine = me.label;
  const bool repeats = labels.empty() ? (random && mine == kRandom) : labels.back() == mine;
  if (!omitted(mine) && !repeats) labels.push_back(mine);

  const size_t cap = options_.max_depth_labels;
  size_t from = 0;
  bool elide = false;
  if (cap > 0 && labels.size() > cap) {
    elide = cap > 1;
    from = labels.size() - (cap > 1 ? cap - 1 : 1);
    if (elide && labels[from] == kElided) ++from;  // a real "..." label next to the marker
  }

  std::string out;
  out.reserve((use_parent ? parent->tree.size() : 0) + mine.size() + 12);
  if (random) out.append("/").append(kRandom);
  if (elide) out.append("/").append(kElided);
  for (size_t i = from; i < labels.size(); ++i) out.append("/").append(labels[i]);
  if (out.empty()) out = "/";
  return out;
}

}  // namespace procwatch
