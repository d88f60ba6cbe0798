#include "export/event_format.h"

#include "core/text.h"

#include <gtest/gtest.h>

#include <random>
#include <utility>

namespace procwatch::output {
namespace {

ProcInfo sample_proc() {
  ProcInfo p;
  p.key = {4242, 123456};
  p.ppid = 100;
  p.comm = "python3";
  p.exe = "/usr/bin/python3.11";
  p.argv = {"python3", "-u", "my script.py", "it's"};
  p.uid = p.euid = 1000;
  p.gid = p.egid = 1000;
  p.user = "deploy";
  p.cgroup = "/system.slice/docker-" + std::string(64, 'a') + ".scope";
  p.container_id = std::string(64, 'a');
  p.tree = "/sshd/base/my script.py";
  return p;
}

TEST(Timestamp, Rfc3339Micro) {
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(1795067017123456789ull), "2026-11-19T05:43:37.123456Z");
}

TEST(JoinArgv, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(join_argv({"ls", "-l", "a b", "", "it's", "x\ny"}),
            "ls -l 'a b' '' 'it'\\''s' 'x\\x0ay'");
  EXPECT_EQ(join_argv({"aaaaaaaaaa", "bbbbbbbbbb"}, 12), "aaaaaaaaaa b...");
}

TEST(EventJson, ExecHasRequiredFields) {
  EventRecord r{"exec", 1795067017000000000ull, sample_proc()};
  auto j = event_json(r);
  for (const char* k : {"ts", "event", "pid", "ppid", "comm", "exe", "argv", "uid", "gid", "user",
                        "cgroup", "container_id", "context", "incomplete", "tree"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["event"], "exec");
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["argv"][2], "my script.py");
  EXPECT_EQ(j["container_id"], std::string(64, 'a'));
  EXPECT_FALSE(j.contains("exit_code"));
}

TEST(EventJson, ContainerNamesAreAlwaysPresent) {
  EventRecord r{"exec", 1795067017000000000ull, sample_proc()};
  r.proc.container_name = "web";
  r.proc.image = "nginx:1.25";
  r.proc.container_runtime = "docker";
  r.proc.pod = "web-7d4b9c";
  r.proc.pod_namespace = "shop";
  r.proc.pod_uid = "0f3a7c2e-5d1b-4c8e-9a6f-2b7d8e1c4a90";
  auto j = event_json(r);
  EXPECT_EQ(j["container_name"], "web");
  EXPECT_EQ(j["image"], "nginx:1.25");
  EXPECT_EQ(j["runtime"], "docker");
  EXPECT_EQ(j["pod"], "web-7d4b9c");
  EXPECT_EQ(j["namespace"], "shop");
  EXPECT_EQ(j["pod_uid"], "0f3a7c2e-5d1b-4c8e-9a6f-2b7d8e1c4a90");
  auto host = event_json(EventRecord{"exec", 0, ProcInfo{}});
  for (const char* k : {"container_id", "container_name", "image", "runtime", "pod", "namespace",
                        "pod_uid"})
    EXPECT_EQ(host[k], "") << k;
  auto tree = tree_json({r.proc});
  EXPECT_EQ(tree[0]["container_name"], "web");
  EXPECT_EQ(tree[0]["namespace"], "shop");
  EXPECT_NE(tree_text({r.proc}, false).find("deploy    [web] /usr/bin/python3.11"),
            std::string::npos)
      << tree_text({r.proc}, false);
}

TEST(EventJson, ExitCodeSignalDuration) {
  EventRecord r{"exit", 0, sample_proc()};
  r.exit = ExitDetails{true, 3, 0, false, 0.25};
  auto j = event_json(r);
  EXPECT_EQ(j["exit_code"], 3);
  EXPECT_EQ(j["signal"], 0);
  EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 0.25);
  r.exit = ExitDetails{true, -1, 9, true, -1};
  j = event_json(r);
  EXPECT_TRUE(j["exit_code"].is_null());
  EXPECT_EQ(j["signal"], 9);
  EXPECT_EQ(j["core_dumped"], true);
  EXPECT_TRUE(j["duration_s"].is_null());
}

TEST(EventJson, LostHasCount) {
  EventRecord r{"lost", 0, {}};
  r.lost_count = 17;
  r.lost_reason = "seq_gap";
  auto j = event_json(r);
  EXPECT_EQ(j["event"], "lost");
  EXPECT_EQ(j["count"], 17);
  EXPECT_FALSE(j.contains("pid"));
}

TEST(EventText, ExecAndExitLines) {
  EventRecord r{"exec", 1795067017123456000ull, sample_proc()};
  r.depth = 2;
  std::string line = event_text(r, false);
  EXPECT_EQ(line,
            "05:43:37.123456 exec        4242     100 deploy    [aaaaaaaaaaaa]     "
            "/usr/bin/python3.11 -u 'my script.py' 'it'\\''s'\n");
  // The container's name after the user, when known; nothing outside a container.
  r.proc.container_name = "web-1";
  EXPECT_NE(event_text(r, false).find(" deploy    [web-1]     /usr/bin/python3.11"),
            std::string::npos)
      << event_text(r, false);
  r.proc.container_id.clear();
  r.proc.container_name.clear();
  EXPECT_NE(event_text(r, false).find(" deploy        /usr/bin/python3.11"), std::string::npos)
      << event_text(r, false);
  r.event = "exit";
  r.exit = ExitDetails{true, 1, 0, false, 1.5};
  line = event_text(r, false);
  EXPECT_NE(line.find("exit 1 after 1.500s"), std::string::npos) << line;
  r.proc.incomplete = true;
  r.proc.exe.clear();
  line = event_text(r, false);
  EXPECT_NE(line.find("[python3]"), std::string::npos) << line;
  EXPECT_NE(line.find("(incomplete)"), std::string::npos) << line;
}

std::vector<ProcInfo> small_forest() {
  std::vector<ProcInfo> v(4);
  v[0].key.pid = 1; v[0].ppid = 0; v[0].exe = "/sbin/init"; v[0].user = "root";
  v[1].key.pid = 10; v[1].ppid = 1; v[1].exe = "/usr/sbin/sshd"; v[1].user = "root";
  v[2].key.pid = 20; v[2].ppid = 10; v[2].exe = "/bin/bash"; v[2].user = "deploy";
  v[3].key.pid = 15; v[3].ppid = 1; v[3].exe = "/usr/sbin/cron"; v[3].user = "root";
  return v;
}

TEST(Tree, JsonNestsChildrenByPid) {
  auto j = tree_json(small_forest());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["pid"], 1);
  ASSERT_EQ(j[0]["children"].size(), 2u);
  EXPECT_EQ(j[0]["children"][0]["pid"], 10);
  EXPECT_EQ(j[0]["children"][1]["pid"], 15);
  EXPECT_EQ(j[0]["children"][0]["children"][0]["pid"], 20);
}

TEST(Tree, TextDrawsBranches) {
  std::string t = tree_text(small_forest(), false);
  EXPECT_EQ(t,
            "      1 root      /sbin/init\n"
            "├─      10 root      /usr/sbin/sshd\n"
            "│  └─      20 deploy    /bin/bash\n"
            "└─      15 root      /usr/sbin/cron\n");
}

TEST(Tree, GroupedByContainer) {
  std::vector<ProcInfo> v = small_forest();
  ProcInfo conmon;
  conmon.key.pid = 30; conmon.ppid = 1; conmon.exe = "/usr/bin/conmon"; conmon.user = "root";
  conmon.container_runtime = "podman";  // the runtime, not the container
  ProcInfo sh;
  sh.key.pid = 31; sh.ppid = 30; sh.exe = "/bin/busybox"; sh.user = "root";
  sh.container_id = std::string(64, 'b'); sh.container_name = "web"; sh.image = "localhost/w:1";
  sh.container_runtime = "podman";
  ProcInfo sleep = sh;
  sleep.key.pid = 32; sleep.ppid = 31;
  ProcInfo api;
  api.key.pid = 40; api.ppid = 1; api.exe = "/app"; api.user = "root";
  api.container_id = std::string(64, 'a'); api.container_name = "api";
  api.container_runtime = "cri-o"; api.pod = "api-5f6d"; api.pod_namespace = "prod";
  v.push_back(sleep); v.push_back(conmon); v.push_back(api); v.push_back(sh);

  auto j = containers_tree_json(v);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["container_id"], "");  // the host first, conmon with it
  EXPECT_EQ(j[0]["processes"][0]["pid"], 1);
  EXPECT_EQ(j[1]["container_name"], "api");  // then by name
  EXPECT_EQ(j[1]["namespace"], "prod");
  EXPECT_EQ(j[2]["container_name"], "web");
  EXPECT_EQ(j[2]["image"], "localhost/w:1");
  ASSERT_EQ(j[2]["processes"].size(), 1u);  // sh is the root, its parent is on the host
  EXPECT_EQ(j[2]["processes"][0]["pid"], 31);
  EXPECT_EQ(j[2]["processes"][0]["children"][0]["pid"], 32);

  const std::string t = containers_tree_text(v, false);
  EXPECT_EQ(t.substr(0, 5), "host\n");
  EXPECT_NE(t.find("\ncontainer api (cri-o, pod prod/api-5f6d, id aaaaaaaaaaaa)\n     40 root"
                   "      [api] /app container=aaaaaaaaaaaa\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("\ncontainer web (podman, image localhost/w:1, id bbbbbbbbbbbb)\n"),
            std::string::npos)
      << t;
}

TEST(Tree, ParentCycleDoesNotLoop) {
  std::vector<ProcInfo> v(2);
  v[0].key.pid = 5; v[0].ppid = 6;
  v[1].key.pid = 6; v[1].ppid = 5;
  EXPECT_EQ(tree_json(v).size(), 0u);  // no root: both are children of each other
}

}  // namespace
}  // namespace procwatch::output

namespace procwatch::output {
namespace {

std::string reference_line(const EventRecord& r) {
  return event_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

TEST(FastJson, SameBytesAsNlohmann) {
  std::vector<EventRecord> cases;
  EventRecord exec{"exec", 1795067017123456789ull, sample_proc()};
  cases.push_back(exec);
  EventRecord weird = exec;
  weird.proc.argv = {"a\"b\\c", std::string("ctl\x01\x1f\x7f", 5), "tab\there\nnl",
                     "utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                     "bad \xc3 \xe2\x82 \xff \xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80", ""};
  weird.proc.exe = "/tmp/x\xff/y (deleted)";
  weird.proc.exe_deleted = true;
  weird.proc.argv_truncated = true;
  weird.proc.incomplete = true;
  cases.push_back(weird);
  EventRecord named = exec;
  named.proc.container_name = "web\x01\"q\"";
  named.proc.image = "registry.k8s.io/nginx:1.25";
  named.proc.container_runtime = "cri-o";
  named.proc.pod = "web-7d4b9c";
  named.proc.pod_uid = "0f3a7c2e-5d1b-4c8e-9a6f-2b7d8e1c4a90";
  named.proc.pod_namespace = "shop";
  cases.push_back(named);
  named.resync = true;
  cases.push_back(named);
  EventRecord exit = exec;
  exit.event = "exit";
  for (double d : {0.0, 1.0, 0.25, 1e-05, 123456.789, 3e16, -1.0}) {
    exit.exit = ExitDetails{true, 3, 0, false, d};
    cases.push_back(exit);
  }
  exit.exit = ExitDetails{true, -1, 9, true, 0.5};
  cases.push_back(exit);
  exit.exit = ExitDetails{false, 0, 0, false, 2.0};
  cases.push_back(exit);
  EventRecord lost{"lost", 5, {}};
  lost.lost_count = 12;
  lost.lost_reason = "seq_gap";
  cases.push_back(lost);
  for (const auto& r : cases) {
    std::string fast;
    append_event_json_line(fast, r);
    EXPECT_EQ(fast, reference_line(r));
  }
}

TEST(FastJson, RandomStringsMatchNlohmann) {
  std::mt19937 rng(7);
  EventRecord r{"exec", 1, sample_proc()};
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 12, '\0');
    for (auto& c : s) c = char(rng() % 4 == 0 ? 0x80 + rng() % 0x80 : rng() % 0x80);
    r.proc.argv = {s};
    r.proc.comm = s;
    std::string fast;
    append_event_json_line(fast, r);
    ASSERT_EQ(fast, reference_line(r)) << i;
  }
}

}  // namespace
}  // namespace procwatch::output

namespace procwatch::output {
namespace {

TEST(EventRedaction, SecretsNeverReachAnyFormat) {
  EventRecord r{"exec", 1795067017000000000ull, sample_proc()};
  r.proc.argv = {"mysql", "-u", "app", "-pS3cr3tXyz", "--token", "T0kenXyz", "db"};
  std::string line;
  append_event_json_line(line, r);
  const std::string text = event_text(r, false);
  const std::string json = event_json(r).dump();
  const std::string tree = tree_text({r.proc}, false);
  const std::string tjson = tree_json({r.proc}).dump();
  for (const std::string* out : {&std::as_const(line), &text, &json, &tree, &tjson}) {
    EXPECT_EQ(out->find("S3cr3t"), std::string::npos) << *out;
    EXPECT_EQ(out->find("T0ken"), std::string::npos) << *out;
    EXPECT_NE(out->find("-p***"), std::string::npos) << *out;
    EXPECT_NE(out->find("db"), std::string::npos) << *out;
  }
}

}  // namespace
}  // namespace procwatch::output

namespace procwatch::output {
namespace {

// No byte a terminal acts on: C0 (but the final newline), DEL, UTF-8 C1 controls, BiDi
// overrides and isolates, or bytes outside well-formed UTF-8 (checked by round-trip).
void expect_terminal_safe(const std::string& text) {
  std::string body = text;
  while (!body.empty() && body.back() == '\n') body.pop_back();
  for (size_t i = 0; i < body.size(); ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c == '\n') continue;  // tree lines
    EXPECT_FALSE(c < 0x20 || c == 0x7f) << "byte " << int(c) << " at " << i << ": " << body;
  }
  EXPECT_EQ(body.find("\xc2\x9b"), std::string::npos) << body;
  EXPECT_EQ(body.find("\xe2\x80\xae"), std::string::npos) << body;
  EXPECT_EQ(body.find("\xe2\x81\xa6"), std::string::npos) << body;
  EXPECT_EQ(escape_control(body), body) << "only well-formed, harmless UTF-8 remains";
}

TEST(TerminalOutput, EveryFieldIsEscaped) {
  EventRecord r{"exec", 1795067017000000000ull, sample_proc()};
  r.proc.exe = "/tmp/\x1b[2Jevil\x07\xc2\x9b" "31m\xe2\x80\xae" "fdp.exe\xff";
  r.proc.comm = "\x1b]0;title\x07";
  r.proc.user = "us\x1b[1mer";
  r.proc.context = "ctx\r\x1b[K";
  r.proc.argv = {"x", "\x1b[2J", "a\xe2\x81\xa6" "b", "\x9b" "c"};
  const std::string text = event_text(r, false);
  expect_terminal_safe(text);
  EXPECT_NE(text.find("/tmp/\\x1b[2Jevil\\x07\\xc2\\x9b31m\\xe2\\x80\\xaefdp.exe\\xff"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("us\\x1b[1mer"), std::string::npos) << text;
  r.proc.container_name = "c\x1b[2Jn";
  EXPECT_NE(event_text(r, false).find("[c\\x1b[2Jn]"), std::string::npos);
  const std::string tree = tree_text({r.proc}, false);
  expect_terminal_safe(tree);
  EXPECT_NE(tree.find("context=ctx\\x0d\\x1b[K"), std::string::npos) << tree;

  r.proc.exe.clear();  // shown as [comm]
  const std::string by_comm = event_text(r, false);
  expect_terminal_safe(by_comm);
  EXPECT_NE(by_comm.find("[\\x1b]0;title\\x07]"), std::string::npos) << by_comm;
}

TEST(TerminalOutput, KeepsOrdinaryUtf8) {
  EXPECT_EQ(escape_control("/home/zoë/日本/🙂"), "/home/zoë/日本/🙂");
  EXPECT_EQ(escape_control("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(escape_control("\xc0\xaf"), "\\xc0\\xaf");          // overlong '/'
  EXPECT_EQ(escape_control("a\xe2\x80"), "a\\xe2\\x80");        // cut short
}

}  // namespace
}  // namespace procwatch::output

namespace procwatch::output {
namespace {

std::string unbase64(const std::string& s) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    acc = (acc << 6) | uint32_t(kAlphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

// The exact bytes of a text field, as the README tells a reader to take them.
std::string raw_field(const nlohmann::json& j, const std::string& key) {
  if (j.contains(key + "_b64")) return unbase64(j[key + "_b64"].get<std::string>());
  return j[key].get<std::string>();
}

TEST(RawBytes, EveryTextFieldRoundTripsThroughBothWriters) {
  EventRecord r{"exec", 1795067017123456789ull, sample_proc()};
  ProcInfo& p = r.proc;
  p.exe = "/tmp/x\xff\xfe/true";
  p.comm = "c\xff";
  p.user = "u\xc3";
  p.cgroup = "/x\xed\xa0\x80";
  p.context = "ctx\xfe";
  p.tree = "/t\xff";
  p.container_name = "n\x80";
  p.image = "i\xff";
  p.container_runtime = "r\xff";
  p.pod = "p\xff";
  p.pod_uid = "pu\xff";
  p.pod_namespace = "ns\xff";
  p.container_id = "id\xff";
  p.argv = {"/tmp/x\xff\xfe/true", "ok", "arg\xff"};
  for (bool exit : {false, true}) {
    if (exit) {
      r.event = "exit";
      r.exit = ExitDetails{true, 0, 0, true, 0.5};
      r.resync = true;
      p.exe_deleted = true;
      p.argv_truncated = true;
    }
    std::string fast;
    append_event_json_line(fast, r);
    ASSERT_EQ(fast, reference_line(r));
    const auto j = nlohmann::json::parse(fast);
    EXPECT_EQ(raw_field(j, "exe"), p.exe);
    EXPECT_EQ(j["exe"], "/tmp/x\xef\xbf\xbd\xef\xbf\xbd/true");  // still readable
    const std::pair<const char*, const std::string*> fields[] = {
        {"comm", &p.comm},       {"user", &p.user},   {"cgroup", &p.cgroup},
        {"context", &p.context}, {"tree", &p.tree},   {"container_name", &p.container_name},
        {"image", &p.image},     {"runtime", &p.container_runtime}, {"pod", &p.pod},
        {"pod_uid", &p.pod_uid}, {"namespace", &p.pod_namespace},
        {"container_id", &p.container_id}};
    for (const auto& [key, value] : fields) EXPECT_EQ(raw_field(j, key), *value) << key;
    ASSERT_EQ(j["argv_b64"].size(), p.argv.size());
    for (size_t i = 0; i < p.argv.size(); ++i) {
      EXPECT_EQ(unbase64(j["argv_b64"][i].get<std::string>()), p.argv[i]);
    }
  }
}

TEST(RawBytes, ValidUtf8GetsNoExtraField) {
  EventRecord r{"exec", 1, sample_proc()};
  r.proc.exe = "/home/zo\xc3\xab/\xf0\x9f\x98\x80";
  std::string fast;
  append_event_json_line(fast, r);
  EXPECT_EQ(fast, reference_line(r));
  EXPECT_EQ(fast.find("_b64"), std::string::npos) << fast;
}

TEST(RawBytes, TreeJsonCarriesTheBytes) {
  ProcInfo p = sample_proc();
  p.exe = "/tmp/x\xff\xfe/true";
  p.argv = {"a\xff"};
  const auto j = tree_json({p});
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(raw_field(j[0], "exe"), p.exe);
  EXPECT_EQ(unbase64(j[0]["argv_b64"][0].get<std::string>()), "a\xff");
  nlohmann::json obj = nlohmann::json::object();
  set_text(obj, "exe", "ok");
  EXPECT_FALSE(obj.contains("exe_b64"));
}

}  // namespace
}  // namespace procwatch::output
