#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "rules/config.h"
#include "rules/matcher.h"
#include "test_util.h"

namespace procwatch::rules {
namespace {

using testing::fake_ids;

Result<Config> parse(const std::string& text) {
  return parse_config(text, "procwatch.yml", fake_ids());
}

std::string error_of(const std::string& text) {
  auto r = parse(text);
  EXPECT_FALSE(r.ok()) << "expected an error for:\n" << text;
  return r.ok() ? "" : r.error().message;
}

TEST(Config, ParsesFullRule) {
  auto r = parse(R"(rules:
  - name: sshd
    description: ssh daemon
    match:
      name: sshd
      user: root
      euid: "!0"
      args: "-D$"
    count: "1:"
    severity: warning
    for: 500ms
    per: user
    per_expect: [root, alice]
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->rules.size(), 1u);
  const Rule& rule = r->rules[0];
  EXPECT_EQ(r->file, "procwatch.yml");
  EXPECT_EQ(rule.name, "sshd");
  EXPECT_EQ(rule.description, "ssh daemon");
  ASSERT_EQ(rule.match.size(), 4u);
  EXPECT_EQ(rule.match[0].kind, SelectorKind::kName);
  EXPECT_EQ(rule.match[1].kind, SelectorKind::kUser);
  EXPECT_EQ(rule.match[1].id, 0u);
  EXPECT_EQ(rule.match[2].kind, SelectorKind::kEuid);
  EXPECT_TRUE(rule.match[2].negate);
  EXPECT_EQ(rule.match[2].id, 0u);
  ASSERT_TRUE(rule.match[3].regex);
  EXPECT_EQ(rule.count.text, "1:");
  EXPECT_EQ(rule.severity, Severity::kWarning);
  EXPECT_EQ(rule.for_duration.count(), 500);
  EXPECT_EQ(rule.per, PerKey::kUser);
  EXPECT_EQ(rule.per_expect, (std::vector<std::string>{"root", "alice"}));
  EXPECT_EQ(rule.mark.line, 2);
  EXPECT_EQ(rule.mark.column, 5);
  EXPECT_FALSE(r->cpu.has_value());
}

TEST(Config, Defaults) {
  auto r = parse("rules:\n  - name: any\n    match: {}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Rule& rule = r->rules[0];
  EXPECT_TRUE(rule.match.empty());
  EXPECT_EQ(rule.count.text, "1:");
  EXPECT_EQ(rule.severity, Severity::kCritical);
  EXPECT_EQ(rule.for_duration.count(), 2000);
  EXPECT_EQ(rule.per, PerKey::kNone);
}

TEST(Config, ParsesCpu) {
  auto r = parse(R"(cpu:
  max_percent: 90
  window: 10s
  lifetime_max_percent: 50.5
  min_age: 5m
  exempt: {users: [alice], names: [boinc, gzip], trees: ["cron:*"], uid_min: 1000}
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->cpu);
  EXPECT_EQ(*r->cpu->max_percent, 90);
  EXPECT_EQ(r->cpu->window.count(), 10000);
  EXPECT_EQ(*r->cpu->lifetime_max_percent, 50.5);
  EXPECT_EQ(r->cpu->min_age.count(), 300000);
  EXPECT_EQ(r->cpu->severity, Severity::kWarning);
  EXPECT_EQ(r->cpu->exempt.names, (std::vector<std::string>{"boinc", "gzip"}));
  EXPECT_EQ(r->cpu->exempt.trees, (std::vector<std::string>{"cron:*"}));
  EXPECT_EQ(r->cpu->exempt.users, (std::vector<std::string>{"alice"}));
  EXPECT_EQ(*r->cpu->exempt.uid_min, 1000u);
  EXPECT_TRUE(r->rules.empty());
}

TEST(Config, ParsesUnexpected) {
  auto r = parse(R"(unexpected:
  severity: critical
  for: 30s
  except: {trees: ["/cron/*"], users: [backup, "10*"]}
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->unexpected);
  EXPECT_EQ(r->unexpected->severity, Severity::kCritical);
  EXPECT_EQ(r->unexpected->for_duration, std::chrono::seconds(30));
  EXPECT_EQ(r->unexpected->except_trees, std::vector<std::string>{"/cron/*"});
  EXPECT_EQ(r->unexpected->except_users, (std::vector<std::string>{"backup", "10*"}));
  EXPECT_EQ(r->unexpected->mark.line, 2);
  auto d = parse("unexpected:\n");  // the defaults: warning, for 0s, no exceptions
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_TRUE(d->unexpected);
  EXPECT_EQ(d->unexpected->severity, Severity::kWarning);
  EXPECT_EQ(d->unexpected->for_duration.count(), 0);
}

TEST(Config, PackagedConfigParsesWithOnlyMachineIndependentRules) {
  auto r = load_config(PROCWATCH_PACKAGED_CONFIG, fake_ids());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->rules.size(), 1u);
  EXPECT_EQ(r->rules[0].name, "setuid-before-setgid");
  EXPECT_TRUE(r->cpu.has_value());
  EXPECT_TRUE(r->redact_defaults);
}

TEST(Config, SampleConfigParsesAndSaysWhatTheSpecAsks) {
  auto r = load_config(PROCWATCH_RULES_SAMPLE, fake_ids());
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto find = [&](const std::string& n) -> const Rule* {
    for (const auto& rule : r->rules) {
      if (rule.name == n) return &rule;
    }
    return nullptr;
  };
  const Rule* setuid = find("setuid-before-setgid");
  ASSERT_NE(setuid, nullptr);
  EXPECT_EQ(setuid->count.text, "0");
  ASSERT_EQ(setuid->match.size(), 2u);
  EXPECT_EQ(setuid->match[0].kind, SelectorKind::kEgid);
  EXPECT_EQ(setuid->match[1].kind, SelectorKind::kEuid);
  EXPECT_TRUE(setuid->match[1].negate);
  const Rule* init_t = find("selinux-init-t");
  ASSERT_NE(init_t, nullptr);
  EXPECT_EQ(init_t->match[0].value, "*:init_t:*");
  EXPECT_EQ(init_t->count.text, ":1");
  const Rule* master = find("postfix-master");
  ASSERT_NE(master, nullptr);
  EXPECT_EQ(master->match[0].kind, SelectorKind::kExe);
  EXPECT_EQ(master->match[0].value, "/usr/lib/postfix/sbin/master");
  const Rule* sshd = find("sshd");
  ASSERT_NE(sshd, nullptr);
  EXPECT_EQ(sshd->per, PerKey::kUser);
  ASSERT_TRUE(r->cpu);
  EXPECT_NE(std::find(r->cpu->exempt.names.begin(), r->cpu->exempt.names.end(), "boinc"),
            r->cpu->exempt.names.end());
}

TEST(Config, LoadMissingFile) {
  auto r = load_config("/nonexistent/procwatch.yml", fake_ids());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("/nonexistent/procwatch.yml: cannot read:", 0), 0u)
      << r.error().message;
}

// Every error names file:line:column (1-based) and what was expected.
struct ErrCase {
  const char* label;
  const char* yaml;
  const char* message;  // exact
};

class ConfigErrors : public ::testing::TestWithParam<ErrCase> {};

TEST_P(ConfigErrors, ExactMessage) {
  EXPECT_EQ(error_of(GetParam().yaml), GetParam().message) << GetParam().label;
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigErrors,
    ::testing::Values(
        ErrCase{"unknown selector",
                "rules:\n  - name: x\n    match:\n      nmae: sshd\n",
                "procwatch.yml:4:7: unknown selector 'nmae' (expected one of: name, exe, args, "
                "user, uid, group, gid, euid, egid, context, cgroup, container, tree, parent, "
                "container_name, image, pod, namespace)"},
        ErrCase{"unknown rule key",
                "rules:\n  - name: x\n    match: {}\n    cuont: 1\n",
                "procwatch.yml:4:5: unknown key 'cuont' in a rule (expected one of: name, "
                "description, match, count, severity, for, per, per_expect)"},
        ErrCase{"unknown top key", "rule:\n  - name: x\n",
                "procwatch.yml:1:1: unknown key 'rule' in config (expected one of: rules, cpu, unexpected, redact, redact_defaults)"},
        ErrCase{"unknown cpu key", "cpu:\n  max_percent: 5\n  windw: 1s\n",
                "procwatch.yml:3:3: unknown key 'windw' in cpu (expected one of: max_percent, "
                "window, lifetime_max_percent, min_age, exempt, severity, for)"},
        ErrCase{"unknown exempt key", "cpu:\n  max_percent: 5\n  exempt: {user: [a]}\n",
                "procwatch.yml:3:12: unknown key 'user' in cpu exempt (expected one of: users, "
                "names, trees, uid_min)"},
        ErrCase{"bad range",
                "rules:\n  - name: x\n    match: {}\n    count: \"5:1\"\n",
                "procwatch.yml:4:12: bad range '5:1': start is greater than end (expected N, "
                "N:, ~:N, N:M or @N:M)"},
        ErrCase{"range not a number",
                "rules:\n  - name: x\n    match: {}\n    count: two\n",
                "procwatch.yml:4:12: bad range 'two': 'two' is not a number (expected N, N:, "
                "~:N, N:M or @N:M)"},
        ErrCase{"unquoted range ending in colon",
                "rules:\n  - name: x\n    match: {}\n    count: 1:\n",
                "procwatch.yml:4:13: invalid YAML: illegal map value (quote values containing "
                "': ' or ending in ':', e.g. count: \"1:\")"},
        ErrCase{"unquoted @ range",
                "rules:\n  - name: x\n    match: {}\n    count: @1:2\n",
                "procwatch.yml:4:12: invalid YAML: unknown token (quote values starting with "
                "'@' or '`', e.g. count: \"@1:2\")"},
        ErrCase{"bad duration",
                "rules:\n  - name: x\n    match: {}\n    for: 2 seconds\n",
                "procwatch.yml:4:10: bad duration '2 seconds' (expected a whole number with a "
                "unit: 500ms, 2s, 1m, 1h)"},
        ErrCase{"bad cpu duration", "cpu:\n  max_percent: 5\n  window: 30\n",
                "procwatch.yml:3:11: bad duration '30' (expected a whole number with a unit: "
                "500ms, 2s, 1m, 1h)"},
        ErrCase{"bad regex",
                "rules:\n  - name: x\n    match:\n      args: \"(unclosed\"\n",
                "procwatch.yml:4:13: bad regex '(unclosed': missing ): (unclosed"},
        ErrCase{"backreference",
                "rules:\n  - name: x\n    match:\n      args: \"(|)(\\\\1\\\\1)*\"\n",
                "procwatch.yml:4:13: bad regex '(|)(\\1\\1)*': backreferences are not supported "
                "(\\1; patterns are matched in linear time)"},
        ErrCase{"nested counted repetition",
                "rules:\n  - name: x\n    match:\n      args: '(x{1,32767}){1,32767}'\n",
                "procwatch.yml:4:13: bad regex '(x{1,32767}){1,32767}': repetition too large "
                "{1,32767} (at most 1000 in all, nested counts multiply)"},
        ErrCase{"NUL in a pattern",
                "rules:\n  - name: x\n    match:\n      args: \"ab\\0(((\"\n",
                "procwatch.yml:4:13: 'args' contains a NUL character (\\0), which would cut the "
                "value short"},
        ErrCase{"NUL in a redact pattern", "redact:\n  - \"--k=(\\\\S+)\\0(\"\n",
                "procwatch.yml:2:5: 'redact' contains a NUL character (\\0), which would cut the "
                "value short"},
        ErrCase{"comments only", "# nothing here\n\n   # still nothing\n",
                "procwatch.yml:1:1: empty config (expected a map with 'rules' and/or 'cpu')"},
        ErrCase{"CR-only line endings", "rules:\r  - name: x\r    match: {}\r",
                "procwatch.yml:1:7: carriage return without a line feed (CR-only line endings; "
                "expected LF or CR LF)"},
        ErrCase{"second document",
                "rules:\n  - name: x\n    match: {}\n---\ncpu:\n  max_percent: 5\n",
                "procwatch.yml:4:1: a second YAML document (expected one document; remove the "
                "'---' and what follows, or merge it into the first)"},
        ErrCase{"second document after an explicit first",
                "---\nrules: []\n--- # more\nrules: []\n",
                "procwatch.yml:3:1: a second YAML document (expected one document; remove the "
                "'---' and what follows, or merge it into the first)"},
        ErrCase{"control characters in a value are escaped",
                "rules:\n  - name: x\n    match: {}\n    severity: \"bad\\n\\e[31m\\u202e\"\n",
                "procwatch.yml:4:15: bad severity 'bad\\x0a\\x1b[31m\\xe2\\x80\\xae' (expected "
                "warning or critical)"},
        ErrCase{"bad severity",
                "rules:\n  - name: x\n    match: {}\n    severity: fatal\n",
                "procwatch.yml:4:15: bad severity 'fatal' (expected warning or critical)"},
        ErrCase{"bad per",
                "rules:\n  - name: x\n    match: {}\n    per: host\n",
                "procwatch.yml:4:10: bad 'per' value 'host' (expected user, container, tree or "
                "none)"},
        ErrCase{"per_expect without per",
                "rules:\n  - name: x\n    match: {}\n    per_expect: [root]\n",
                "procwatch.yml:4:5: 'per_expect' needs 'per' in rule 'x'"},
        ErrCase{"rules not a list", "rules:\n  name: x\n",
                "procwatch.yml:2:3: 'rules' must be a list of rules, got a map"},
        ErrCase{"rule not a map", "rules:\n  - sshd\n",
                "procwatch.yml:2:5: a rule must be a map, got a string 'sshd'"},
        ErrCase{"match not a map",
                "rules:\n  - name: x\n    match: [name, sshd]\n",
                "procwatch.yml:3:12: 'match' of rule 'x' must be a map, got a list"},
        ErrCase{"selector value is a list",
                "rules:\n  - name: x\n    match:\n      name: [a, b]\n",
                "procwatch.yml:4:13: 'name' expects a string, got a list"},
        ErrCase{"count is a map",
                "rules:\n  - name: x\n    match: {}\n    count: {min: 1}\n",
                "procwatch.yml:4:12: 'count' expects a string, got a map"},
        ErrCase{"name is empty value",
                "rules:\n  - name:\n    match: {}\n",
                "procwatch.yml:2:5: 'name' expects a string, got nothing"},
        ErrCase{"missing name",
                "rules:\n  - match: {name: sshd}\n    count: \"1:\"\n",
                "procwatch.yml:2:5: rule has no 'name' (expected name: <text>)"},
        ErrCase{"missing match",
                "rules:\n  - name: lonely\n",
                "procwatch.yml:2:5: rule 'lonely' has no 'match' (expected a map of "
                "selectors; {} matches every process)"},
        ErrCase{"duplicate rule name",
                "rules:\n  - name: sshd\n    match: {}\n  - name: sshd\n    match: {}\n",
                "procwatch.yml:4:11: duplicate rule name 'sshd' (first defined at line 2)"},
        ErrCase{"duplicate key",
                "rules:\n  - name: a\n    match: {}\n    count: \"1:\"\n    count: \"2:\"\n",
                "procwatch.yml:5:5: duplicate key 'count' in a rule"},
        ErrCase{"duplicate selector",
                "rules:\n  - name: a\n    match:\n      uid: 0\n      uid: 1\n",
                "procwatch.yml:5:7: duplicate selector 'uid' in rule 'a'"},
        ErrCase{"unquoted ! is a tag",
                "rules:\n  - name: a\n    match:\n      euid: !0\n",
                "procwatch.yml:4:13: '!0' is read as a YAML tag (quote the value, e.g. \"!0\")"},
        ErrCase{"uid not a number",
                "rules:\n  - name: a\n    match:\n      uid: root\n",
                "procwatch.yml:4:12: 'uid' expects a number, got 'root'"},
        ErrCase{"unknown group",
                "rules:\n  - name: a\n    match:\n      group: wheel\n",
                "procwatch.yml:4:14: unknown group 'wheel' for 'group'"},
        ErrCase{"cpu without a limit", "cpu:\n  window: 5s\n",
                "procwatch.yml:2:3: cpu needs 'max_percent' or 'lifetime_max_percent'"},
        ErrCase{"cpu percent not a number", "cpu:\n  max_percent: lots\n",
                "procwatch.yml:2:16: 'max_percent' expects a positive number, got 'lots'"},
        ErrCase{"uid_min not a number", "cpu:\n  max_percent: 5\n  exempt: {uid_min: x}\n",
                "procwatch.yml:3:21: 'uid_min' expects a number, got 'x'"},
        ErrCase{"exempt names not a list", "cpu:\n  max_percent: 5\n  exempt: {names: gzip}\n",
                "procwatch.yml:3:19: 'names' expects a list of strings, got a string 'gzip'"},
        ErrCase{"rule named cpu with cpu section",
                "rules:\n  - name: cpu\n    match: {}\ncpu:\n  max_percent: 5\n",
                "procwatch.yml:2:5: rule name 'cpu' is taken by the cpu section (expected "
                "another name)"},
        ErrCase{"unexpected: unknown key", "unexpected:\n  severity: warning\n  forr: 1s\n",
                "procwatch.yml:3:3: unknown key 'forr' in unexpected (expected one of: "
                "severity, for, except)"},
        ErrCase{"unexpected: bad severity", "unexpected: {severity: loud}\n",
                "procwatch.yml:1:24: bad severity 'loud' (expected warning or critical)"},
        ErrCase{"unexpected: except key", "unexpected:\n  except: {tree: [a]}\n",
                "procwatch.yml:2:12: unknown key 'tree' in unexpected except (expected one of: "
                "trees, users)"},
        ErrCase{"unexpected: users not a list", "unexpected:\n  except:\n    users: root\n",
                "procwatch.yml:3:12: 'users' expects a list of strings, got a string 'root'"},
        ErrCase{"unexpected: bad for", "unexpected:\n  for: soon\n",
                "procwatch.yml:2:8: bad duration 'soon' (expected a whole number with a unit: "
                "500ms, 2s, 1m, 1h)"},
        ErrCase{"rule named unexpected with the section",
                "rules:\n  - name: unexpected\n    match: {}\nunexpected: {}\n",
                "procwatch.yml:2:5: rule name 'unexpected' is taken by the unexpected section "
                "(expected another name)"},
        ErrCase{"empty document", "",
                "procwatch.yml:1:1: empty config (expected a map with 'rules' and/or 'cpu')"},
        ErrCase{"top level is a list", "- name: x\n",
                "procwatch.yml:1:1: config must be a map, got a list"},
        ErrCase{"broken YAML", "rules: [\n",
                "procwatch.yml:2:1: invalid YAML: end of sequence flow not found"}),
    [](const ::testing::TestParamInfo<ErrCase>& info) {
      std::string n;
      for (char c : std::string(info.param.label)) n += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

// The patterns of issue 13 that crashed, hung or exhausted glibc's regex: each is a clean error
// naming file:line:col, at once.
TEST(Config, HostilePatternsAreFastErrors) {
  const char* const patterns[] = {"(|)(\\1\\1)*", "(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1z",
                                  "((a{1,100}){1,100}){1,100}", "(x{1,32767}){1,32767}"};
  for (const char* p : patterns) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = parse("rules:\n  - name: x\n    match:\n      args: '" + std::string(p) + "'\n");
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - t0).count();
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.error().message.rfind("procwatch.yml:4:13: bad regex '" + std::string(p) + "': ", 0),
              0u) << r.error().message;
    EXPECT_LT(ms, 500) << p;
  }
}

TEST(Config, SelectorKeyList) {
  EXPECT_EQ(yaml_selector_keys(),
            "name, exe, args, user, uid, group, gid, euid, egid, context, cgroup, container, "
            "tree, parent, container_name, image, pod, namespace");
  EXPECT_EQ(yaml_selector_kind("container_name"), SelectorKind::kContainerName);
  EXPECT_EQ(yaml_selector_kind("namespace"), SelectorKind::kNamespace);
  EXPECT_EQ(yaml_selector_kind("context"), SelectorKind::kContext);
  EXPECT_FALSE(yaml_selector_kind("command").has_value()) << "check_procs-only filter";
}

}  // namespace
}  // namespace procwatch::rules

namespace procwatch::rules {
namespace {

TEST(ConfigRedact, PatternsAndDefaultsSwitch) {
  auto r = parse_config("redact:\n  - '--db-key=(\\S+)'\nredact_defaults: false\n", "p.yml",
                        testing::fake_ids());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->redact, std::vector<std::string>{"--db-key=(\\S+)"});
  EXPECT_FALSE(r->redact_defaults);
  auto d = parse_config("rules: []\n", "p.yml", testing::fake_ids());
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->redact_defaults);
  EXPECT_TRUE(d->redact.empty());
}

TEST(ConfigRedact, BadPatternsNameLineAndColumn) {
  const std::pair<const char*, const char*> cases[] = {
      {"redact:\n  - '(unclosed'\n", "p.yml:2:5: bad redact pattern"},
      {"redact:\n  - '--x=\\S+'\n", "p.yml:2:5: redact pattern has no capture group"},
      {"redact:\n  - '(a)\\1'\n", "p.yml:2:5: bad redact pattern"},
      {"redact: '--x=(.*)'\n", "p.yml:1:9: 'redact' must be a list"},
      {"redact_defaults: maybe\n", "p.yml:1:18: 'redact_defaults' expects true or false"},
  };
  for (const auto& [text, want] : cases) {
    auto r = parse_config(text, "p.yml", testing::fake_ids());
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().message.rfind(want, 0), 0u) << r.error().message;
  }
}

}  // namespace
}  // namespace procwatch::rules

namespace procwatch::rules {
namespace {

std::string error_for(const std::string& text) {
  auto r = parse_config(text, "big.yml", testing::fake_ids());
  EXPECT_FALSE(r.ok()) << text.substr(0, 200);
  return r.ok() ? "" : r.error().message;
}

TEST(ConfigBounds, EachBoundIsAnErrorAtItsEdge) {
  // Size: 1 MiB passes the size check (it is then a YAML comment), one byte more does not.
  std::string mib = "# " + std::string((1 << 20) - 3, 'x') + "\n";
  ASSERT_EQ(mib.size(), size_t(1) << 20);
  EXPECT_EQ(error_for(mib).find("larger than 1 MiB"), std::string::npos);
  EXPECT_NE(error_for(mib + "#").find("big.yml: larger than 1 MiB"), std::string::npos);

  // Depth: 32 nested lists are read (and refused as a config), 33 are refused as too deep.
  const std::string deep32 = "x: " + std::string(31, '[') + std::string(31, ']') + "\n";
  EXPECT_EQ(error_for(deep32).find("nested deeper"), std::string::npos) << error_for(deep32);
  const std::string deep33 = "x: " + std::string(32, '[') + std::string(32, ']') + "\n";
  EXPECT_NE(error_for(deep33).find("big.yml:1:"), std::string::npos);
  EXPECT_NE(error_for(deep33).find("nested deeper than 32 levels"), std::string::npos);

  // Aliases: 64 are read, 65 refused (a billion-laughs file would need many more).
  auto aliases = [](int n) {
    std::string t = "a: &x [1]\nb: [";
    for (int i = 0; i < n; ++i) t += std::string(i ? ", " : "") + "*x";
    return t + "]\n";
  };
  EXPECT_EQ(error_for(aliases(64)).find("aliases"), std::string::npos);
  EXPECT_NE(error_for(aliases(65)).find("more than 64 aliases"), std::string::npos);

  // Rules: 1000 are read, 1001 refused.
  auto rules = [](int n) {
    std::string t = "rules:\n";
    for (int i = 0; i < n; ++i)
      t += "  - {name: r" + std::to_string(i) + ", match: {name: x}, count: \"0\"}\n";
    return t;
  };
  EXPECT_TRUE(parse_config(rules(1000), "r.yml", testing::fake_ids()).ok());
  EXPECT_NE(error_for(rules(1001)).find("more than 1000 rules (1001)"), std::string::npos);
}

TEST(ConfigBounds, BinaryInputThatMadeLoadAllLoopEndsAtOnce) {
  // A fuzz input on which yaml-cpp 0.7's LoadAll never returned.
  std::ifstream in(std::string(PROCWATCH_RULES_FUZZ_CORPUS) + "/regression-loadall-loop.bin",
                   std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(text.size(), 131u);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(parse_config(text, "fuzz.yml", testing::fake_ids()).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace procwatch::rules
