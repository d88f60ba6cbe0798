#include "baseline/baseline.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/text.h"
#include "naming/random_name.h"

namespace procwatch::baseline {

namespace {
constexpr size_t kMaxFileBytes = 64u << 20;
}  // namespace

std::string normalize_exe(std::string_view exe) {
  if (!has_random_dir(exe)) return std::string(exe);
  std::string out;
  size_t at = 0;
  while (at < exe.size()) {
    const size_t slash = exe.find('/', at);
    if (slash == std::string_view::npos) {  // the file name itself stays
      out.append(exe.substr(at));
      break;
    }
    const std::string_view comp = exe.substr(at, slash - at);
    out.append(!comp.empty() && is_random_name(comp) ? "<random>" : std::string(comp));
    out += '/';
    at = slash + 1;
  }
  return out;
}

std::string format_time(int64_t unix_s) {
  const time_t t = time_t(unix_s);
  tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t parse_time(std::string_view text) {
  tm tm{};
  const std::string s(text);
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return -1;
  return int64_t(timegm(&tm));
}

namespace {

void combine(Seen& e, const Seen& s) {
  e.first_seen = e.first_seen && s.first_seen ? std::min(e.first_seen, s.first_seen)
                                              : std::max(e.first_seen, s.first_seen);
  e.last_seen = std::max(e.last_seen, s.last_seen);
  e.count += s.count;
}

}  // namespace

bool Baseline::flag(const Key& k, const Seen& s) {
  if (entries_.count(k)) return true;
  auto it = flagged_.find(k);
  if (it != flagged_.end()) {
    combine(it->second, s);
    return true;
  }
  if (flagged_.size() >= kMaxFlagged) {
    ++flagged_dropped_;
    return false;
  }
  flagged_.emplace(k, s);
  return true;
}

size_t Baseline::approve(const std::string& tree) {
  size_t n = 0;
  for (auto it = flagged_.begin(); it != flagged_.end();) {
    if (it->first.tree != tree) {
      ++it;
      continue;
    }
    const Key k = it->first;
    const Seen s = it->second;
    it = flagged_.erase(it);
    if (add(k, s)) ++n;
  }
  return n;
}

bool Baseline::add(const Key& k, const Seen& s) {
  if (!flagged_.empty()) flagged_.erase(k);
  auto it = entries_.find(k);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxEntries) {
      ++dropped_;
      return false;
    }
    entries_.emplace(k, s);
    return true;
  }
  combine(it->second, s);
  return true;
}

bool Baseline::observe(std::string_view tree, std::string_view exe, std::string_view user,
                       int64_t now, bool* first_flag) {
  if (memo_.slots.empty()) memo_.slots.resize(Memo::kSlots);
  const std::hash<std::string_view> hash;
  Memo::Slot& slot =
      memo_.slots[(hash(tree) ^ (hash(exe) * 31) ^ (hash(user) * 131)) % Memo::kSlots];
  if (slot.valid && slot.tree == tree && slot.exe == exe && slot.user == user) {
    slot.it->second.last_seen = now;
    ++slot.it->second.count;
    return true;
  }
  const std::string_view raw_exe = exe;
  // Most execs are of entries already known and of paths that are not random: no copy then.
  std::string normalized;
  if (has_random_dir(exe)) {
    normalized = normalize_exe(exe);
    exe = normalized;
  }
  const KeyView view{tree, exe, user};
  if (auto it = entries_.find(view); it != entries_.end()) {
    it->second.last_seen = now;
    ++it->second.count;
    slot.tree.assign(tree);
    slot.exe.assign(raw_exe);
    slot.user.assign(user);
    slot.it = it;
    slot.valid = true;
    return true;
  }
  if (learning(now)) {
    add(Key{std::string(tree), std::string(exe), std::string(user)}, Seen{now, now, 1});
    return true;
  }
  if (auto it = flagged_.find(view); it != flagged_.end()) {
    it->second.last_seen = now;
    ++it->second.count;
    if (first_flag) *first_flag = false;
    return false;
  }
  const bool kept =
      flag(Key{std::string(tree), std::string(exe), std::string(user)}, Seen{now, now, 1});
  if (first_flag) *first_flag = kept;
  return false;
}

size_t Baseline::forget(const std::string& tree) {
  memo_.slots.clear();
  size_t n = 0;
  for (Map* m : {&entries_, &flagged_}) {
    for (auto it = m->begin(); it != m->end();) {
      if (it->first.tree == tree) {
        it = m->erase(it);
        ++n;
      } else {
        ++it;
      }
    }
  }
  return n;
}

void Baseline::merge(const Baseline& other) {
  for (const auto& [k, s] : other.entries_) add(k, s);
  for (const auto& [k, s] : other.flagged_) flag(k, s);
}

std::string Baseline::to_yaml() const {
  YAML::Emitter y;
  y << YAML::Comment("procwatch baseline: the process trees this machine runs. Sorted, one "
                     "entry per (tree, exe, user); review and edit with `procwatch baseline`.");
  y << YAML::BeginMap;
  y << YAML::Key << "version" << YAML::Value << kFormatVersion;
  y << YAML::Key << "learning" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "started" << YAML::Value << format_time(learn_started);
  y << YAML::Key << "duration_s" << YAML::Value << learn_for_s;
  y << YAML::Key << "frozen" << YAML::Value << frozen;
  y << YAML::EndMap;
  auto list = [&y](const char* name, const Map& m) {
    y << YAML::Key << name << YAML::Value << YAML::BeginSeq;
    for (const auto& [k, s] : m) {
      y << YAML::BeginMap;
      y << YAML::Key << "tree" << YAML::Value << YAML::DoubleQuoted << k.tree;
      y << YAML::Key << "exe" << YAML::Value << YAML::DoubleQuoted << k.exe;
      y << YAML::Key << "user" << YAML::Value << YAML::DoubleQuoted << k.user;
      y << YAML::Key << "first_seen" << YAML::Value << format_time(s.first_seen);
      y << YAML::Key << "last_seen" << YAML::Value << format_time(s.last_seen);
      y << YAML::Key << "count" << YAML::Value << s.count;
      y << YAML::EndMap;
    }
    y << YAML::EndSeq;
  };
  list("entries", entries_);
  // Seen while enforcing and not yet approved (`procwatch baseline diff|approve`).
  if (!flagged_.empty()) list("flagged", flagged_);
  y << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

namespace {

struct ParseError {
  YAML::Mark mark;
  std::string what;
};

[[noreturn]] void fail(const YAML::Node& n, std::string what) { throw ParseError{n.Mark(), what}; }

// YAML::Node is a handle: returned by value (references into a growing container dangle).
YAML::Node need(const YAML::Node& map, const char* key) {
  YAML::Node v = map[key];
  if (!v.IsDefined() || v.IsNull()) fail(map, std::string("missing '") + key + "'");
  return v;
}

std::string scalar(const YAML::Node& n, const char* key) {
  if (!n.IsScalar()) fail(n, std::string("'") + key + "' must be a string");
  return n.Scalar();
}

int64_t time_of(const YAML::Node& n, const char* key) {
  const int64_t t = parse_time(scalar(n, key));
  if (t < 0) fail(n, std::string("'") + key + "' must be a time like 2026-12-01T12:00:00Z");
  return t;
}

}  // namespace

Result<Baseline> Baseline::parse(std::string_view text, const std::string& file) {
  const std::string where = escape_control(file);
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap()) fail(root, "not a procwatch baseline (expected a map with 'version')");
    const YAML::Node ver = need(root, "version");
    int version = 0;
    try {
      version = ver.as<int>();
    } catch (const YAML::Exception&) {
      fail(ver, "'version' must be a number");
    }
    if (version != kFormatVersion)
      fail(ver, "written by a procwatch with baseline format " + std::to_string(version) +
                    "; this one reads format " + std::to_string(kFormatVersion));
    Baseline b;
    const YAML::Node learn = need(root, "learning");
    if (!learn.IsMap()) fail(learn, "'learning' must be a map");
    b.learn_started = time_of(need(learn, "started"), "started");
    try {
      b.learn_for_s = need(learn, "duration_s").as<int64_t>();
      b.frozen = need(learn, "frozen").as<bool>();
    } catch (const YAML::Exception& e) {
      fail(learn, "'duration_s' must be a number and 'frozen' true or false");
    }
    auto entry = [](const YAML::Node& e, Key& k, Seen& s) {
      if (!e.IsMap()) fail(e, "an entry must be a map with tree, exe and user");
      k = Key{scalar(need(e, "tree"), "tree"), scalar(need(e, "exe"), "exe"),
              scalar(need(e, "user"), "user")};
      s.first_seen = time_of(need(e, "first_seen"), "first_seen");
      s.last_seen = time_of(need(e, "last_seen"), "last_seen");
      try {
        s.count = need(e, "count").as<uint64_t>();
      } catch (const YAML::Exception&) {
        fail(e, "'count' must be a number");
      }
    };
    const YAML::Node entries = need(root, "entries");
    if (!entries.IsSequence()) fail(entries, "'entries' must be a list");
    for (const auto& e : entries) {
      Key k;
      Seen s;
      entry(e, k, s);
      if (!b.add(k, s)) fail(e, "more than " + std::to_string(kMaxEntries) + " entries");
    }
    if (const YAML::Node flagged = root["flagged"]; flagged.IsDefined() && !flagged.IsNull()) {
      if (!flagged.IsSequence()) fail(flagged, "'flagged' must be a list");
      for (const auto& e : flagged) {
        Key k;
        Seen s;
        entry(e, k, s);
        b.flag(k, s);
      }
    }
    return b;
  } catch (const ParseError& e) {
    return make_error(where + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": " + escape_control(e.what));
  } catch (const YAML::Exception& e) {
    return make_error(where + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": " + escape_control(e.msg));
  }
}

Result<Baseline> Baseline::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int e = errno;
    return make_error(escape_control(path) + ": cannot read: " + std::strerror(e), e);
  }
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  in.seekg(0);
  if (size < 0 || size_t(size) > kMaxFileBytes)
    return make_error(escape_control(path) + ": larger than " +
                      std::to_string(kMaxFileBytes >> 20) + " MiB");
  std::string text(size_t(size), '\0');
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(in.gcount()));
  return parse(text, path);
}

Result<bool> Baseline::save(const std::string& path) const {
  const std::string text = to_yaml();
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash ? slash : 1);
  std::string tmp = path + ".tmpXXXXXX";
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);
  auto err = [&](const char* what) {
    const int e = errno;
    return make_error(escape_control(path) + ": " + what + ": " + std::strerror(e), e);
  };
  if (fd < 0) return err("cannot create a temp file");
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto e = err("cannot write");
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    off += size_t(n);
  }
  if (::fchmod(fd, 0640) != 0 || ::fsync(fd) != 0) {
    auto e = err("cannot sync");
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto e = err("cannot rename into place");
    ::unlink(tmp.c_str());
    return e;
  }
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);  // the rename itself reaches the disk
    ::close(dfd);
  }
  return true;
}

}  // namespace procwatch::baseline
