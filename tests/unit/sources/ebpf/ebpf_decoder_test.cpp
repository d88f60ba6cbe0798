#include "sources/ebpf/ebpf_decoder.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "sources/ebpf/ebpf_record.h"

namespace procwatch::ebpf {
namespace {

using Bytes = std::vector<std::byte>;

template <class T>
Bytes to_bytes(const T& rec, size_t n = sizeof(T)) {
  Bytes b(n);
  std::memcpy(b.data(), &rec, n);
  return b;
}

pw_ebpf_fork make_fork(bool thread) {
  pw_ebpf_fork r{};
  r.hdr = {PW_EBPF_FORK, sizeof(r), 123456789, 1, 0};
  r.parent_pid = 100;
  r.parent_tgid = 100;
  r.child_pid = thread ? 102 : 101;
  r.child_tgid = thread ? 100 : 101;
  r.real_parent_tgid = thread ? 1 : 100;
  r.flags = thread ? PW_FORK_THREAD : 0;
  r.child_start_ns = 12'345'678'901ull;  // 1234 ticks at 100 Hz
  return r;
}

pw_ebpf_exit make_exit() {
  pw_ebpf_exit r{};
  r.hdr = {PW_EBPF_EXIT, sizeof(r), 99, 0, 0};
  r.pid = 201;
  r.tgid = 200;
  r.exit_code = 3 << 8;
  r.exit_signal = 17;
  r.parent_pid = 150;
  r.parent_tgid = 150;
  r.flags = PW_EXIT_GROUP_DEAD;
  r.start_ns = 5'000'000'000ull;
  return r;
}

// An exec record as the kernel emits it: fixed part + path + argv, sized to content.
Bytes make_exec(const std::string& path, const std::string& args, uint32_t flags = 0) {
  pw_ebpf_exec r{};
  r.pid = 300;
  r.tgid = 300;
  r.ppid = 299;
  r.old_pid = 301;
  r.uid = 1000;
  r.gid = 1001;
  r.euid = 0;
  r.egid = 1002;
  r.cgroup_id = 4242;
  r.start_ns = 7'770'000'000ull;
  std::memcpy(r.comm, "true", 5);
  r.flags = flags;
  r.path_len = uint32_t(path.size());
  r.args_len = uint32_t(args.size());
  std::memcpy(r.data, path.data(), path.size());
  std::memcpy(r.data + path.size(), args.data(), args.size());
  size_t size = PW_EBPF_EXEC_FIXED_SIZE + path.size() + args.size();
  r.hdr = {PW_EBPF_EXEC, uint32_t(size), 555, 1, 0};
  return to_bytes(r, size);
}

void set_u32(Bytes& b, size_t off, uint32_t v) { std::memcpy(b.data() + off, &v, sizeof(v)); }

TEST(EbpfDecoder, ProcessFork) {
  auto ev = decode_ebpf_record(to_bytes(make_fork(false)));
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->ts_ns, 123456789u);
  EXPECT_EQ(ev->cpu, 1u);
  const auto& f = std::get<ForkEvent>(ev->body);
  EXPECT_EQ(f.parent_pid, 100);
  EXPECT_EQ(f.parent_tid, 100);
  EXPECT_EQ(f.child_pid, 101);
  EXPECT_EQ(f.child_tid, 101);
  EXPECT_EQ(f.child_start_time, 1234u);
}

TEST(EbpfDecoder, ThreadForkKeepsProcessAsParent) {
  auto ev = decode_ebpf_record(to_bytes(make_fork(true)));
  ASSERT_TRUE(ev.ok());
  const auto& f = std::get<ForkEvent>(ev->body);
  EXPECT_EQ(f.parent_pid, 100);  // the creator's process, not its real_parent (1)
  EXPECT_EQ(f.child_pid, 100);
  EXPECT_EQ(f.child_tid, 102);
}

TEST(EbpfDecoder, CloneParentUsesRealParent) {
  auto r = make_fork(false);
  r.real_parent_tgid = 42;
  auto ev = decode_ebpf_record(to_bytes(r));
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(std::get<ForkEvent>(ev->body).parent_pid, 42);
  EXPECT_EQ(std::get<ForkEvent>(ev->body).parent_tid, 100);
}

TEST(EbpfDecoder, Exit) {
  auto ev = decode_ebpf_record(to_bytes(make_exit()));
  ASSERT_TRUE(ev.ok());
  const auto& x = std::get<ExitEvent>(ev->body);
  EXPECT_EQ(x.pid, 200);
  EXPECT_EQ(x.tid, 201);
  EXPECT_EQ(x.exit_code, 0x300u);
  EXPECT_EQ(exit_status_code(x.exit_code), 3);
  EXPECT_EQ(x.exit_signal, 17u);
  EXPECT_EQ(x.parent_pid, 150);
}

TEST(EbpfDecoder, ExitCarriesGroupDeadStartAndExeDeleted) {
  auto x = std::get<ExitEvent>(decode_ebpf_record(to_bytes(make_exit()))->body);
  EXPECT_EQ(x.group_dead, std::optional<bool>(true));
  EXPECT_EQ(x.start_time, std::optional<uint64_t>(500));  // 5 s at 100 Hz
  EXPECT_FALSE(x.exe_deleted.has_value());  // no EXE_CHECKED: unknown, not false

  auto r = make_exit();
  r.flags = PW_EXIT_EXE_CHECKED;
  x = std::get<ExitEvent>(decode_ebpf_record(to_bytes(r))->body);
  EXPECT_EQ(x.group_dead, std::optional<bool>(false));
  EXPECT_EQ(x.exe_deleted, std::optional<bool>(false));

  r.flags = PW_EXIT_EXE_CHECKED | PW_EXIT_EXE_DELETED | PW_EXIT_GROUP_DEAD;
  x = std::get<ExitEvent>(decode_ebpf_record(to_bytes(r))->body);
  EXPECT_EQ(x.exe_deleted, std::optional<bool>(true));
  EXPECT_EQ(x.group_dead, std::optional<bool>(true));
}

TEST(EbpfDecoder, ExecFillsCapture) {
  const std::string args("/bin/true\0--help\0\0x\0", 20);
  auto ev = decode_ebpf_record(make_exec("/usr/bin/true", args));
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  const auto& e = std::get<ExecEvent>(ev->body);
  EXPECT_EQ(e.pid, 300);
  EXPECT_EQ(e.tid, 300);
  const auto& c = e.capture;
  EXPECT_EQ(c.exe, "/usr/bin/true");
  EXPECT_FALSE(c.exe_deleted);
  ASSERT_TRUE(c.argv);
  EXPECT_EQ(*c.argv, (std::vector<std::string>{"/bin/true", "--help", "", "x"}));
  EXPECT_FALSE(c.argv_truncated);
  EXPECT_EQ(c.ppid, 299);
  EXPECT_EQ(c.comm, "true");
  EXPECT_EQ(c.uid, 1000u);
  EXPECT_EQ(c.gid, 1001u);
  EXPECT_EQ(c.euid, 0u);
  EXPECT_EQ(c.egid, 1002u);
  EXPECT_EQ(c.cgroup_id, 4242u);
  EXPECT_EQ(c.start_time, 777u);
  EXPECT_FALSE(c.cgroup);  // filled by the source's CgroupResolver
}

TEST(EbpfDecoder, ExecTruncationFlags) {
  // Truncated argv: last argument has no NUL and the kernel flag is set.
  auto ev =
      decode_ebpf_record(make_exec("/bin/x", std::string("a\0bc", 4), PW_EXEC_ARGS_TRUNCATED));
  ASSERT_TRUE(ev.ok());
  const auto& c = std::get<ExecEvent>(ev->body).capture;
  EXPECT_EQ(*c.argv, (std::vector<std::string>{"a", "bc"}));
  EXPECT_TRUE(c.argv_truncated);

  // A truncated path is only a suffix: no exe.
  ev = decode_ebpf_record(make_exec("/deep/x", std::string("x\0", 2), PW_EXEC_PATH_TRUNCATED));
  ASSERT_TRUE(ev.ok());
  EXPECT_FALSE(std::get<ExecEvent>(ev->body).capture.exe);

  ev = decode_ebpf_record(make_exec("/tmp/gone", std::string("x\0", 2), PW_EXEC_PATH_DELETED));
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(std::get<ExecEvent>(ev->body).capture.exe, "/tmp/gone");
  EXPECT_TRUE(std::get<ExecEvent>(ev->body).capture.exe_deleted);

  ev = decode_ebpf_record(make_exec("/bin/x", "", PW_EXEC_ARGS_FAULT));
  ASSERT_TRUE(ev.ok());
  EXPECT_FALSE(std::get<ExecEvent>(ev->body).capture.argv);
}

TEST(EbpfDecoder, ExecMaxArgs) {
  DecodeOptions o;
  o.max_args = 2;
  auto ev = decode_ebpf_record(make_exec("/bin/x", std::string("a\0b\0c\0", 6)), o);
  ASSERT_TRUE(ev.ok());
  const auto& c = std::get<ExecEvent>(ev->body).capture;
  EXPECT_EQ(*c.argv, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(c.argv_truncated);
}

TEST(EbpfDecoder, ExecFullSizeRecord) {
  std::string path = "/" + std::string(PW_EBPF_PATH_MAX - 1, 'p');
  std::string args(PW_EBPF_ARGS_MAX, 'a');
  args.back() = '\0';
  auto ev = decode_ebpf_record(make_exec(path, args));
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(std::get<ExecEvent>(ev->body).capture.exe->size(), size_t(PW_EBPF_PATH_MAX));
  EXPECT_EQ(std::get<ExecEvent>(ev->body).capture.argv->at(0).size(), size_t(PW_EBPF_ARGS_MAX - 1));
}

TEST(EbpfDecoder, CommWithoutNul) {
  auto b = make_exec("/bin/x", std::string("x\0", 2));
  std::memset(b.data() + offsetof(pw_ebpf_exec, comm), 'c', PW_EBPF_COMM_LEN);
  auto ev = decode_ebpf_record(b);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(std::get<ExecEvent>(ev->body).capture.comm, std::string(16, 'c'));
}

// Every prefix of every valid record is rejected (the size field no longer matches).
TEST(EbpfDecoder, TruncatedAtEveryLength) {
  std::vector<Bytes> valid = {to_bytes(make_fork(false)), to_bytes(make_exit()),
                              make_exec("/usr/bin/true", std::string("/bin/true\0", 10))};
  for (const auto& rec : valid) {
    ASSERT_TRUE(decode_ebpf_record(rec).ok());
    for (size_t n = 0; n < rec.size(); ++n) {
      auto ev = decode_ebpf_record(std::span<const std::byte>(rec.data(), n));
      EXPECT_FALSE(ev.ok()) << "accepted a " << n << "-byte prefix of a " << rec.size()
                            << "-byte record";
    }
  }
}

TEST(EbpfDecoder, SizeFieldLying) {
  struct Case {
    const char* what;
    Bytes rec;
    size_t off;
    uint32_t value;
  };
  auto fork = to_bytes(make_fork(false));
  auto exit = to_bytes(make_exit());
  auto exec = make_exec("/usr/bin/true", std::string("/bin/true\0", 10));
  const size_t hsize = offsetof(pw_ebpf_header, size);
  std::vector<Case> cases = {
      {"fork size too big", fork, hsize, uint32_t(fork.size() + 8)},
      {"fork size too small", fork, hsize, uint32_t(fork.size() - 8)},
      {"fork size zero", fork, hsize, 0},
      {"exit size huge", exit, hsize, 0xffffffffu},
      {"exit claims a fork's size", exit, hsize, uint32_t(sizeof(pw_ebpf_fork))},
      {"exec size short", exec, hsize, uint32_t(exec.size() - 1)},
      {"exec path_len too big", exec, offsetof(pw_ebpf_exec, path_len), 14},
      {"exec args_len too big", exec, offsetof(pw_ebpf_exec, args_len), 11},
      {"exec path_len past cap", exec, offsetof(pw_ebpf_exec, path_len), PW_EBPF_PATH_MAX + 1},
      {"exec args_len huge", exec, offsetof(pw_ebpf_exec, args_len), 0xfffffff0u},
  };
  for (auto& c : cases) {
    set_u32(c.rec, c.off, c.value);
    EXPECT_FALSE(decode_ebpf_record(c.rec).ok()) << c.what;
  }
  // A fork record padded and sized as bigger than the struct is a newer producer: accepted.
  auto longer = to_bytes(make_fork(false));
  longer.resize(longer.size() + 8);
  set_u32(longer, hsize, uint32_t(longer.size()));
  EXPECT_TRUE(decode_ebpf_record(longer).ok());
  // An exit record sized as a fork record is rejected (too short for its type).
  auto short_exit = to_bytes(make_exit(), sizeof(pw_ebpf_fork));
  set_u32(short_exit, hsize, uint32_t(sizeof(pw_ebpf_fork)));
  EXPECT_FALSE(decode_ebpf_record(short_exit).ok());
}

TEST(EbpfDecoder, UnknownType) {
  for (uint32_t type : {0u, 4u, 0x80000000u}) {
    auto b = to_bytes(make_exit());
    set_u32(b, 0, type);
    auto ev = decode_ebpf_record(b);
    ASSERT_FALSE(ev.ok());
    EXPECT_NE(ev.error().message.find("unknown type"), std::string::npos);
  }
}

TEST(EbpfDecoder, BoottimeToTicksMatchesKernelRounding) {
  EXPECT_EQ(boottime_ns_to_ticks(0, 100), 0u);
  EXPECT_EQ(boottime_ns_to_ticks(9'999'999, 100), 0u);  // truncates like nsec_to_clock_t
  EXPECT_EQ(boottime_ns_to_ticks(10'000'000, 100), 1u);
  EXPECT_EQ(boottime_ns_to_ticks(123'456'789'012ull, 100), 12345u);
  EXPECT_EQ(boottime_ns_to_ticks(123'456'789'012ull, 1000), 123456u);
  EXPECT_EQ(boottime_ns_to_ticks(1, 0), 0u);
}

// The fuzz seeds are valid records of the current layout.
TEST(EbpfDecoder, FuzzCorpusSeedsDecode) {
  size_t n = 0;
  for (const auto& f : std::filesystem::directory_iterator(PROCWATCH_EBPF_CORPUS)) {
    std::ifstream in(f.path(), std::ios::binary);
    std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Bytes b(raw.size());
    std::memcpy(b.data(), raw.data(), raw.size());
    EXPECT_TRUE(decode_ebpf_record(b).ok()) << f.path();
    ++n;
  }
  EXPECT_GE(n, 4u);
}

}  // namespace
}  // namespace procwatch::ebpf
