#include "rules/config.h"

#include "redact/redactor.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/text.h"
#include "core/yaml_shape.h"
#include "rules/matcher.h"

namespace procwatch::rules {

namespace {

constexpr SelectorKind kYamlSelectors[] = {
    SelectorKind::kName,    SelectorKind::kExe,       SelectorKind::kArgs,
    SelectorKind::kUser,    SelectorKind::kUid,       SelectorKind::kGroup,
    SelectorKind::kGid,     SelectorKind::kEuid,      SelectorKind::kEgid,
    SelectorKind::kContext, SelectorKind::kCgroup,    SelectorKind::kContainer,
    SelectorKind::kTree,    SelectorKind::kParent,
    SelectorKind::kContainerName, SelectorKind::kImage, SelectorKind::kPod, SelectorKind::kNamespace};

std::optional<uint32_t> parse_u32(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + uint64_t(c - '0');
  }
  if (v > 0xffffffffull) return std::nullopt;
  return uint32_t(v);
}

}  // namespace

std::optional<SelectorKind> yaml_selector_kind(std::string_view key) {
  for (auto k : kYamlSelectors) {
    if (selector_key(k) == key) return k;
  }
  return std::nullopt;
}

std::string yaml_selector_keys() {
  std::string out;
  for (auto k : kYamlSelectors) {
    if (!out.empty()) out += ", ";
    out += selector_key(k);
  }
  return out;
}

Result<Selector> make_selector(SelectorKind kind, std::string_view written,
                               const IdResolver& ids) {
  Selector sel;
  sel.kind = kind;
  std::string_view v = written;
  if (!v.empty() && v.front() == '!') {
    sel.negate = true;
    v.remove_prefix(1);
  }
  sel.value = std::string(v);
  std::string key(selector_key(kind));
  if (v.empty()) return make_error("empty value for '" + key + "'");
  auto need_number = [&]() -> Result<Selector> {
    auto n = parse_u32(v);
    if (!n) return make_error("'" + key + "' expects a number, got '" + sel.value + "'");
    sel.id = *n;
    return sel;
  };
  auto user_id = [&](bool name_fallback) -> Result<Selector> {
    if (auto n = parse_u32(v)) {
      sel.id = *n;
      return sel;
    }
    if (ids.user_to_uid) {
      if (auto id = ids.user_to_uid(sel.value)) {
        sel.id = *id;
        return sel;
      }
    }
    if (name_fallback) return sel;  // compared with ProcInfo::user
    return make_error("unknown user '" + sel.value + "' for '" + key + "'");
  };
  auto group_id = [&]() -> Result<Selector> {
    if (auto n = parse_u32(v)) {
      sel.id = *n;
      return sel;
    }
    if (ids.group_to_gid) {
      if (auto id = ids.group_to_gid(sel.value)) {
        sel.id = *id;
        return sel;
      }
    }
    return make_error("unknown group '" + sel.value + "' for '" + key + "'");
  };
  switch (kind) {
    case SelectorKind::kName:
    case SelectorKind::kParent:
    case SelectorKind::kExe:
    case SelectorKind::kContext:
    case SelectorKind::kCgroup:
    case SelectorKind::kTree:
    case SelectorKind::kContainerName:
    case SelectorKind::kImage:
    case SelectorKind::kPod:
    case SelectorKind::kNamespace: {
      const bool literal = kind == SelectorKind::kName || kind == SelectorKind::kParent;
      auto raw = decode_byte_escapes(sel.value, !literal);
      if (!raw) return make_error("bad '" + key + "' value: " + raw.error().message);
      sel.value = std::move(*raw);
      return sel;
    }
    case SelectorKind::kArgs: {
      auto re = UserRegex::compile(sel.value);
      if (!re) return make_error("bad regex '" + sel.value + "': " + re.error().message);
      sel.regex = *re;
      return sel;
    }
    case SelectorKind::kUser: return user_id(true);
    case SelectorKind::kEuid: return user_id(false);
    case SelectorKind::kUid:
    case SelectorKind::kGid: return need_number();
    case SelectorKind::kGroup:
    case SelectorKind::kEgid: return group_id();
    case SelectorKind::kPpid:
    case SelectorKind::kMinVsz:
    case SelectorKind::kMinRss:
    case SelectorKind::kMinPcpu: {
      char* end = nullptr;
      sel.number = std::strtod(sel.value.c_str(), &end);
      if (end == sel.value.c_str() || *end != '\0') {
        return make_error("'" + key + "' expects a number, got '" + sel.value + "'");
      }
      return sel;
    }
    default: return sel;
  }
}

namespace {

struct ConfigError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& at, std::string message) {
  throw ConfigError{at.Mark(), std::move(message)};
}

std::string type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "a string '" + n.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "an undefined value";
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

constexpr size_t kMaxRules = 1000;

class Parser {
 public:
  explicit Parser(const IdResolver& ids) : ids_(ids) {}

  Config parse_root(const YAML::Node& root) {
    Config cfg;
    if (root.IsNull()) {
      // An empty or comments-only file: said at 1:1 (yaml-cpp gives no position for nothing).
      throw ConfigError{root.Mark().is_null() ? YAML::Mark() : root.Mark(),
                        "empty config (expected a map with 'rules' and/or 'cpu')"};
    }
    auto keys = check_map(root, "config",
                          {"rules", "cpu", "unexpected", "redact", "redact_defaults"});
    if (auto it = keys.find("redact"); it != keys.end()) {
      const YAML::Node& list = it->second.second;
      if (!list.IsSequence()) {
        fail(list, "'redact' must be a list of regexes, got " + type_name(list));
      }
      for (const auto& item : list) {
        std::string pattern = scalar(item, "redact");
        if (auto ok = redact::Redactor::check_pattern(pattern); !ok) fail(item, ok.error().message);
        cfg.redact.push_back(std::move(pattern));
      }
    }
    if (auto it = keys.find("redact_defaults"); it != keys.end()) {
      const std::string v = scalar_kv(it->second, "redact_defaults");
      if (v == "true") {
        cfg.redact_defaults = true;
      } else if (v == "false") {
        cfg.redact_defaults = false;
      } else {
        fail(it->second.second, "'redact_defaults' expects true or false, got '" + v + "'");
      }
    }
    if (auto it = keys.find("rules"); it != keys.end()) {
      const YAML::Node& rules = it->second.second;
      if (!rules.IsSequence()) {
        fail(rules, "'rules' must be a list of rules, got " + type_name(rules));
      }
      if (rules.size() > kMaxRules) {
        fail(rules, "more than " + std::to_string(kMaxRules) + " rules (" +
                        std::to_string(rules.size()) + ")");
      }
      std::map<std::string, YAML::Mark> names;
      for (const auto& rn : rules) {
        YAML::Node name_node;
        Rule r = parse_rule(rn, name_node);
        if (auto prev = names.find(r.name); prev != names.end()) {
          fail(name_node, "duplicate rule name '" + r.name + "' (first defined at line " +
                              std::to_string(prev->second.line + 1) + ")");
        }
        names.emplace(r.name, name_node.Mark());
        cfg.rules.push_back(std::move(r));
      }
    }
    if (auto it = keys.find("cpu"); it != keys.end()) {
      cfg.cpu = parse_cpu(it->second.second);
      auto clash = std::find_if(cfg.rules.begin(), cfg.rules.end(),
                                [](const Rule& r) { return r.name == kCpuRuleName; });
      if (clash != cfg.rules.end()) {
        throw ConfigError{to_mark(clash->mark),
                          "rule name 'cpu' is taken by the cpu section (expected another name)"};
      }
    }
    if (auto it = keys.find("unexpected"); it != keys.end()) {
      cfg.unexpected = parse_unexpected(it->second.second);
      auto clash = std::find_if(cfg.rules.begin(), cfg.rules.end(), [](const Rule& r) {
        return r.name == kUnexpectedRuleName;
      });
      if (clash != cfg.rules.end()) {
        throw ConfigError{to_mark(clash->mark), "rule name 'unexpected' is taken by the "
                                                "unexpected section (expected another name)"};
      }
    }
    return cfg;
  }

 private:
  // unexpected: {severity: warning, for: 0s, except: {trees: [...], users: [...]}}
  UnexpectedConfig parse_unexpected(const YAML::Node& n) {
    UnexpectedConfig u;
    u.mark = {n.Mark().line + 1, n.Mark().column + 1};
    if (n.IsNull()) return u;  // `unexpected:` alone: the defaults
    auto keys = check_map(n, "unexpected", {"severity", "for", "except"});
    if (auto it = keys.find("severity"); it != keys.end()) u.severity = severity(it->second);
    if (auto it = keys.find("for"); it != keys.end()) {
      u.for_duration = checked(parse_duration(scalar_kv(it->second, "for")), it->second.second);
    }
    if (auto it = keys.find("except"); it != keys.end()) {
      auto ek = check_map(it->second.second, "unexpected except", {"trees", "users"});
      if (auto e = ek.find("trees"); e != ek.end())
        u.except_trees = string_list(e->second.second, "trees");
      if (auto e = ek.find("users"); e != ek.end())
        u.except_users = string_list(e->second.second, "users");
    }
    return u;
  }

  using KeyMap = std::map<std::string, std::pair<YAML::Node, YAML::Node>>;

  static YAML::Mark to_mark(SourceMark m) {
    YAML::Mark mark;
    mark.line = m.line - 1;
    mark.column = m.column - 1;
    return mark;
  }

  // Checks n is a map with only known, unique, string keys; returns key -> (key node, value).
  KeyMap check_map(const YAML::Node& n, const std::string& what,
                   const std::vector<std::string>& allowed, const char* noun = "key") {
    if (!n.IsMap()) fail(n, what + " must be a map, got " + type_name(n));
    KeyMap out;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node k = it->first;
      if (!k.IsScalar()) fail(k, "a " + std::string(noun) + " in " + what + " must be a string");
      const std::string& key = k.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        fail(k, "unknown " + std::string(noun) + " '" + key + "' in " + what +
                    " (expected one of: " + join(allowed) + ")");
      }
      if (out.count(key)) fail(k, "duplicate " + std::string(noun) + " '" + key + "' in " + what);
      out.emplace(key, std::make_pair(k, YAML::Node(it->second)));
    }
    return out;
  }

  // key_node: where to point when the value is missing (a null value's mark is the next token).
  static std::string scalar(const YAML::Node& v, const std::string& key,
                            const YAML::Node* key_node = nullptr) {
    if (v.IsNull() && key_node != nullptr) {
      fail(*key_node, "'" + key + "' expects a string, got nothing");
    }
    if (!v.IsScalar()) fail(v, "'" + key + "' expects a string, got " + type_name(v));
    if (v.Scalar().find('\0') != std::string::npos) {
      fail(v, "'" + key + "' contains a NUL character (\\0), which would cut the value short");
    }
    const std::string& tag = v.Tag();
    if (!tag.empty() && tag != "?" && tag != "!") {
      fail(v, "'" + tag + "' is read as a YAML tag (quote the value, e.g. \"" + tag + "\")");
    }
    return v.Scalar();
  }

  static std::string scalar_kv(const std::pair<YAML::Node, YAML::Node>& kv,
                               const std::string& key) {
    return scalar(kv.second, key, &kv.first);
  }

  template <class T>
  static T checked(const Result<T>& r, const YAML::Node& at) {
    if (!r) fail(at, r.error().message);
    return r.value();
  }

  static std::vector<std::string> string_list(const YAML::Node& v, const std::string& key) {
    if (!v.IsSequence()) fail(v, "'" + key + "' expects a list of strings, got " + type_name(v));
    std::vector<std::string> out;
    for (const auto& e : v) out.push_back(scalar(e, key + " entry"));
    return out;
  }

  static double positive_number(const std::pair<YAML::Node, YAML::Node>& kv,
                                const std::string& key) {
    const YAML::Node& v = kv.second;
    std::string s = scalar_kv(kv, key);
    char* end = nullptr;
    errno = 0;
    double d = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || errno != 0 || !(d > 0) || d > 1e9) {
      fail(v, "'" + key + "' expects a positive number, got '" + s + "'");
    }
    return d;
  }

  static Severity severity(const std::pair<YAML::Node, YAML::Node>& kv) {
    const YAML::Node& v = kv.second;
    std::string s = scalar_kv(kv, "severity");
    if (s == "warning") return Severity::kWarning;
    if (s == "critical") return Severity::kCritical;
    fail(v, "bad severity '" + s + "' (expected warning or critical)");
  }

  Rule parse_rule(const YAML::Node& n, YAML::Node& name_node) {
    Rule r;
    r.mark = {n.Mark().line + 1, n.Mark().column + 1};
    auto keys = check_map(n, "a rule",
                          {"name", "description", "match", "count", "severity", "for", "per",
                           "per_expect"});
    auto name = keys.find("name");
    if (name == keys.end()) fail(n, "rule has no 'name' (expected name: <text>)");
    name_node = name->second.second;
    r.name = scalar(name_node, "name", &name->second.first);
    if (r.name.empty()) fail(name_node, "empty rule name");
    std::string where = "rule '" + r.name + "'";
    auto match = keys.find("match");
    if (match == keys.end()) {
      fail(n, where + " has no 'match' (expected a map of selectors; {} matches every process)");
    }
    const YAML::Node& m = match->second.second;
    if (!m.IsMap()) fail(m, "'match' of " + where + " must be a map, got " + type_name(m));
    for (auto it = m.begin(); it != m.end(); ++it) {
      const YAML::Node k = it->first;
      std::string key = k.IsScalar() ? k.Scalar() : "";
      auto kind = yaml_selector_kind(key);
      if (!kind) {
        fail(k, "unknown selector '" + key + "' (expected one of: " + yaml_selector_keys() + ")");
      }
      for (const auto& prev : r.match) {
        if (prev.kind == *kind) fail(k, "duplicate selector '" + key + "' in " + where);
      }
      const YAML::Node v = it->second;
      std::string value = scalar(v, key, &k);
      r.match.push_back(checked(make_selector(*kind, value, ids_), v));
    }
    if (auto it = keys.find("count"); it != keys.end()) {
      r.count = checked(parse_nagios_range(scalar_kv(it->second, "count")), it->second.second);
    } else {
      r.count = parse_nagios_range("1:").value();
    }
    if (auto it = keys.find("severity"); it != keys.end()) r.severity = severity(it->second);
    if (auto it = keys.find("for"); it != keys.end()) {
      r.for_duration = checked(parse_duration(scalar_kv(it->second, "for")), it->second.second);
    }
    if (auto it = keys.find("description"); it != keys.end()) {
      r.description = scalar_kv(it->second, "description");
    }
    if (auto it = keys.find("per"); it != keys.end()) {
      std::string p = scalar_kv(it->second, "per");
      if (p == "user") {
        r.per = PerKey::kUser;
      } else if (p == "container") {
        r.per = PerKey::kContainer;
      } else if (p == "tree") {
        r.per = PerKey::kTree;
      } else if (p != "none") {
        fail(it->second.second, "bad 'per' value '" + p + "' (expected user, container, tree or none)");
      }
    }
    if (auto it = keys.find("per_expect"); it != keys.end()) {
      if (r.per == PerKey::kNone) fail(it->second.first, "'per_expect' needs 'per' in " + where);
      r.per_expect = string_list(it->second.second, "per_expect");
    }
    return r;
  }

  CpuConfig parse_cpu(const YAML::Node& n) {
    CpuConfig c;
    c.mark = {n.Mark().line + 1, n.Mark().column + 1};
    auto keys = check_map(n, "cpu",
                          {"max_percent", "window", "lifetime_max_percent", "min_age", "exempt",
                           "severity", "for"});
    auto dur = [&](const char* key, std::chrono::milliseconds& out) {
      if (auto it = keys.find(key); it != keys.end()) {
        out = checked(parse_duration(scalar_kv(it->second, key)), it->second.second);
      }
    };
    if (auto it = keys.find("max_percent"); it != keys.end()) {
      c.max_percent = positive_number(it->second, "max_percent");
    }
    if (auto it = keys.find("lifetime_max_percent"); it != keys.end()) {
      c.lifetime_max_percent = positive_number(it->second, "lifetime_max_percent");
    }
    if (!c.max_percent && !c.lifetime_max_percent) {
      fail(n, "cpu needs 'max_percent' or 'lifetime_max_percent'");
    }
    dur("window", c.window);
    if (c.window.count() == 0) fail(keys.at("window").second, "'window' must be longer than 0s");
    dur("min_age", c.min_age);
    dur("for", c.for_duration);
    if (auto it = keys.find("severity"); it != keys.end()) c.severity = severity(it->second);
    if (auto it = keys.find("exempt"); it != keys.end()) {
      auto ek = check_map(it->second.second, "cpu exempt", {"users", "names", "trees", "uid_min"});
      if (auto e = ek.find("users"); e != ek.end()) c.exempt.users = string_list(e->second.second, "users");
      if (auto e = ek.find("names"); e != ek.end()) c.exempt.names = string_list(e->second.second, "names");
      if (auto e = ek.find("trees"); e != ek.end()) c.exempt.trees = string_list(e->second.second, "trees");
      if (auto e = ek.find("uid_min"); e != ek.end()) {
        std::string s = scalar_kv(e->second, "uid_min");
        c.exempt.uid_min = parse_u32(s);
        if (!c.exempt.uid_min) fail(e->second.second, "'uid_min' expects a number, got '" + s + "'");
      }
    }
    return c;
  }

  const IdResolver& ids_;
};

// One line whatever the file name and the values quoted in msg hold (control characters,
// BiDi overrides: escape_control).
std::string located(const std::string& file, const YAML::Mark& m, const std::string& msg) {
  const int line = m.is_null() ? 1 : m.line + 1, column = m.is_null() ? 1 : m.column + 1;
  return escape_control(file) + ":" + std::to_string(line) + ":" + std::to_string(column) +
         ": " + escape_control(msg);
}

}  // namespace

namespace {

// "FILE:LINE:COL: msg" for a 0-based offset into text.
std::string located_at(const std::string& file, std::string_view text, size_t offset,
                       const std::string& msg) {
  YAML::Mark m;
  m.line = 0;
  m.column = 0;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++m.line;
      m.column = 0;
    } else {
      ++m.column;
    }
  }
  return located(file, m, msg);
}

// Where the second document of a stream starts: the `---` that follows content (the first
// document may itself open with one). npos when there is none to see.
size_t second_document_offset(std::string_view text) {
  bool content = false;
  bool first_marker_seen = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    const bool marker = line.substr(0, 3) == "---" &&
                        (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    const bool end_marker = line.substr(0, 3) == "..." &&
                            (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    if (marker) {
      if (content || first_marker_seen) return pos;
      first_marker_seen = true;
      content = line.find_first_not_of(" \t\r", 3) != std::string_view::npos &&
                line[line.find_first_not_of(" \t\r", 3)] != '#';
    } else if (end_marker) {
      content = true;  // anything after "..." is another document
      first_marker_seen = true;
    } else {
      size_t first = line.find_first_not_of(" \t\r");
      if (first != std::string_view::npos && line[first] != '#') content = true;
    }
    pos = eol + 1;
  }
  return std::string_view::npos;
}

}  // namespace

Result<Config> parse_config(std::string_view yaml_text, const std::string& file_name,
                            const IdResolver& ids) {
  if (yaml_text.size() > kYamlMaxBytes) {
    return make_error(escape_control(file_name) + ": larger than 1 MiB (" +
                      std::to_string(yaml_text.size()) + " bytes; expected a rule config)");
  }
  // What yaml-cpp would silently get wrong: cut at a NUL, or read a file whose lines end in a
  // lone CR as one line.
  if (size_t nul = yaml_text.find('\0'); nul != std::string_view::npos) {
    return make_error(located_at(file_name, yaml_text, nul,
                                 "NUL byte in the file (expected YAML text)"));
  }
  for (size_t i = 0; i < yaml_text.size(); ++i) {
    if (yaml_text[i] == '\r' && (i + 1 >= yaml_text.size() || yaml_text[i + 1] != '\n')) {
      return make_error(located_at(file_name, yaml_text, i,
                                   "carriage return without a line feed (CR-only line endings; "
                                   "expected LF or CR LF)"));
    }
  }
  const std::string text(yaml_text);
  YAML::Node root;
  int documents = 0;
  YAML::Mark second;
  try {
    const YamlShape shape(text);
    if (shape.too_much) return make_error(located(file_name, shape.where, shape.what));
    documents = shape.documents;
    second = shape.second;
    if (documents > 0) root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::string msg = "invalid YAML: " + e.msg;
    if (e.msg == "illegal map value") {
      msg += " (quote values containing ': ' or ending in ':', e.g. count: \"1:\")";
    } else if (e.msg == "unknown token") {
      msg += " (quote values starting with '@' or '`', e.g. count: \"@1:2\")";
    }
    return make_error(located(file_name, e.mark, msg));
  }
  if (documents > 1) {
    size_t at = second_document_offset(yaml_text);
    std::string msg = "a second YAML document (expected one document; remove the '---' "
                      "and what follows, or merge it into the first)";
    if (at != std::string_view::npos) return make_error(located_at(file_name, yaml_text, at, msg));
    return make_error(located(file_name, second, msg));
  }
  try {
    Parser p(ids);
    Config cfg = p.parse_root(root);
    cfg.file = file_name;
    return cfg;
  } catch (const ConfigError& e) {
    return make_error(located(file_name, e.mark, e.message));
  } catch (const YAML::Exception& e) {
    return make_error(located(file_name, e.mark, e.msg));
  }
}

Result<Config> load_config(const std::string& path, const IdResolver& ids) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    return make_error(escape_control(path) + ": cannot read: " + std::strerror(err), err);
  }
  std::string text(kYamlMaxBytes + 1, '\0');  // one byte over: "larger than" is then known
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(in.gcount()));
  return parse_config(text, path, ids);
}

}  // namespace procwatch::rules
