#include "procfs/parsers.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using namespace std::string_literals;
using procwatch::procfs::container_from_cgroup;
using procwatch::procfs::container_id_from_cgroup;
using procwatch::procfs::parse_attr_current;
using procwatch::procfs::parse_cgroup;
using procwatch::procfs::parse_cmdline;
using procwatch::procfs::parse_exe_link;
using procwatch::procfs::parse_stat;
using procwatch::procfs::parse_status;

namespace {

// A real stat line of `cat` on Linux 6.18.
const char kCatStat[] =
    "5125 (cat) R 5123 5123 4709 0 -1 4194304 100 0 0 0 11 2 0 0 20 0 1 0 17957 3133440 365 "
    "18446744073709551615 94143149477888 94143149497769 140720382599392 0 0 0 0 0 0 0 0 0 17 1 "
    "0 0 0 0 0 94143149513776 94143149515392 94143564226560 140720382605961 140720382605981 "
    "140720382605981 140720382607339 0\n";

// stat line with fields 3.. numbered as in proc(5); `repl` replaces field N's text and
// `last` cuts the line after field `last`.
std::string make_stat(const std::string& comm, std::map<int, std::string> repl = {},
                      int last = 52) {
  std::string s = "77 (" + comm + ")";
  for (int i = 3; i <= last; ++i) {
    std::string v;
    if (repl.count(i)) {
      v = repl[i];
    } else if (i == 3) {
      v = "S";
    } else if (i == 4) {
      v = "1";
    } else if (i == 20) {
      v = "3";
    } else if (i == 22) {
      v = "4242";
    } else {
      v = std::to_string(i * 10);
    }
    s += " " + v;
  }
  return s + "\n";
}

TEST(ParseStat, RealLine) {
  auto st = parse_stat(kCatStat);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->pid, 5125);
  EXPECT_EQ(st->comm, "cat");
  EXPECT_EQ(st->state, 'R');
  EXPECT_EQ(st->ppid, 5123);
  EXPECT_EQ(st->flags, 4194304u);
  EXPECT_EQ(st->utime, 11u);
  EXPECT_EQ(st->stime, 2u);
  EXPECT_EQ(st->num_threads, 1);
  EXPECT_EQ(st->start_time, 17957u);
  EXPECT_EQ(st->vsize, 3133440u);
  EXPECT_EQ(st->rss_pages, 365);
  EXPECT_EQ(st->arg_start, 140720382605961u);
  EXPECT_EQ(st->arg_end, 140720382605981u);
}

// The fields ps-style sampling needs (sampling uses this parser, not one of its own).
TEST(ParseStat, PsFieldsAfterAHostileComm) {
  auto st = parse_stat(make_stat("a) R 9 9 9 (b", {{5, "1300"}, {6, "1290"}, {7, "34816"},
                                                    {8, "-1"}, {19, "-5"}}));
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->comm, "a) R 9 9 9 (b");
  EXPECT_EQ(st->pgrp, 1300);
  EXPECT_EQ(st->session, 1290);
  EXPECT_EQ(st->tty_nr, 34816);
  EXPECT_EQ(st->tpgid, -1);
  EXPECT_EQ(st->nice, -5);
  EXPECT_EQ(st->utime, 140u);
  EXPECT_EQ(st->stime, 150u);
  auto real = parse_stat(kCatStat);
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(real->pgrp, 5123);
  EXPECT_EQ(real->session, 4709);
  EXPECT_EQ(real->tpgid, -1);
  EXPECT_EQ(real->nice, 0);
  for (int field : {5, 6, 7, 8, 19}) {
    EXPECT_FALSE(parse_stat(make_stat("x", {{field, "n"}})).ok()) << field;
  }
}

TEST(ParseStat, ArgAreaIsOptionalAndBothOrNeither) {
  auto full = parse_stat(make_stat("a"));
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->arg_start, 480u);
  EXPECT_EQ(full->arg_end, 490u);
  struct Case {
    const char* what;
    std::string text;
  } cases[] = {
      {"cut after 24", make_stat("a", {}, 24)},
      {"cut after 47", make_stat("a", {}, 47)},
      {"cut after 48", make_stat("a", {}, 48)},
      {"end before start", make_stat("a", {{48, "500"}, {49, "400"}})},
      {"not a number", make_stat("a", {{48, "x"}})},
      {"hidden (zeros)", make_stat("a", {{48, "0"}, {49, "0"}})},
  };
  for (const auto& c : cases) {
    auto st = parse_stat(c.text);
    ASSERT_TRUE(st.ok()) << c.what << ": " << st.error().message;
    EXPECT_EQ(st->arg_start, 0u) << c.what;
    EXPECT_EQ(st->arg_end, 0u) << c.what;
    EXPECT_EQ(st->start_time, 4242u) << c.what;
  }
}

TEST(ParseStat, CommIsBetweenFirstOpenAndLastClose) {
  struct Case {
    std::string comm;
  } cases[] = {{"a) (b"}, {"x)"}, {"(y"}, {""}, {"two words"}, {") ("}, {"((("}, {"a) S 1 2 (b"}};
  for (const auto& c : cases) {
    auto st = parse_stat(make_stat(c.comm));
    ASSERT_TRUE(st.ok()) << c.comm << ": " << st.error().message;
    EXPECT_EQ(st->comm, c.comm);
    EXPECT_EQ(st->pid, 77);
    EXPECT_EQ(st->state, 'S');
    EXPECT_EQ(st->ppid, 1);
    EXPECT_EQ(st->num_threads, 3);
    EXPECT_EQ(st->start_time, 4242u) << c.comm;
  }
}

TEST(ParseStat, KernelLinesWithoutTrailingNewlineOrExtraFields) {
  // Older kernels have fewer than 52 fields; 24 are enough.
  auto st = parse_stat(make_stat("k", {}, 24).substr(0, make_stat("k", {}, 24).size() - 1));
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->start_time, 4242u);
  EXPECT_EQ(st->rss_pages, 240);
}

TEST(ParseStat, MalformedNamesTheField) {
  struct Case {
    std::string text;
    std::string error;  // exact message
  } cases[] = {
      {"", "stat: empty"},
      {"123 cat S 1 2", "stat: field 2 (comm) not in parentheses"},
      {"123 (cat S 1 2", "stat: field 2 (comm) not in parentheses"},
      {"1 )x( S 1", "stat: field 2 (comm) not in parentheses"},
      {"abc (cat) S 1", "stat: field 1 (pid) not a number"},
      {" (cat) S 1", "stat: field 1 (pid) not a number"},
      {"5 (cat)", "stat: field 3 (state) missing"},
      {make_stat("cat", {{3, "RS"}}), "stat: field 3 (state) not one character"},
      {make_stat("cat", {{4, "-"}}), "stat: field 4 (ppid) not a number"},
      {make_stat("cat", {{9, "0x10"}}), "stat: field 9 (flags) not a number"},
      {make_stat("cat", {{14, "1.5"}}), "stat: field 14 (utime) not a number"},
      {make_stat("cat", {{15, "x"}}), "stat: field 15 (stime) not a number"},
      {make_stat("cat", {{20, "many"}}), "stat: field 20 (num_threads) not a number"},
      {make_stat("cat", {{22, "x"}}), "stat: field 22 (starttime) not a number"},
      {make_stat("cat", {{22, "-5"}}), "stat: field 22 (starttime) not a number"},
      {make_stat("cat", {{22, "99999999999999999999999"}}),
       "stat: field 22 (starttime) not a number"},
      {make_stat("cat", {{23, "12k"}}), "stat: field 23 (vsize) not a number"},
      {make_stat("cat", {{24, ""}}, 24), "stat: field 24 (rss) missing"},
      {make_stat("cat", {}, 21), "stat: field 22 (starttime) missing"},
      {make_stat("cat", {}, 23), "stat: field 24 (rss) missing"},
      {make_stat("cat", {}, 10), "stat: field 11 (cminflt) missing"},
  };
  for (const auto& c : cases) {
    auto st = parse_stat(c.text);
    ASSERT_FALSE(st.ok()) << c.text;
    EXPECT_EQ(st.error().message, c.error) << c.text;
  }
}

TEST(ParseStatus, RealText) {
  const std::string text =
      "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t5126\nNgid:\t0\nPid:\t5126\n"
      "PPid:\t5123\nTracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\nGid:\t50\t51\t52\t53\n"
      "FDSize:\t256\nGroups:\t \nVmPeak:\t    3060 kB\nVmSize:\t    3060 kB\nVmLck:\t       0 kB\n"
      "VmRSS:\t    1708 kB\nRssAnon:\t     112 kB\nThreads:\t7\nSigQ:\t0/96365\n";
  auto s = parse_status(text);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->name, "cat");
  EXPECT_EQ(s->tgid, 5126);
  EXPECT_EQ(s->ppid, 5123);
  EXPECT_EQ(s->uid[0], 1000u);
  EXPECT_EQ(s->uid[1], 1001u);
  EXPECT_EQ(s->uid[2], 1002u);
  EXPECT_EQ(s->uid[3], 1003u);
  EXPECT_EQ(s->gid[0], 50u);
  EXPECT_EQ(s->gid[3], 53u);
  EXPECT_EQ(s->threads, 7);
  EXPECT_EQ(s->vm_rss_kb, 1708u);
  EXPECT_EQ(s->vm_size_kb, 3060u);
}

TEST(ParseStatus, ZombieHasNoVmLinesAndOddNamesSurvive) {
  auto s = parse_status(
      "Name:\tevil) (name\nTgid:\t9\nPPid:\t1\nUid:\t0\t0\t0\t0\n"
      "Gid:\t0\t0\t0\t0\nThreads:\t1");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->name, "evil) (name");
  EXPECT_EQ(s->vm_rss_kb, 0u);
  EXPECT_EQ(s->vm_size_kb, 0u);
  EXPECT_EQ(s->threads, 1);
}

TEST(ParseStatus, Malformed) {
  const std::string ids = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
  struct Case {
    std::string text;
    std::string error;
  } cases[] = {
      {"", "status: empty"},
      {"Name:\tx\nGid:\t0\t0\t0\t0\n", "status: Uid line missing"},
      {"Name:\tx\nUid:\t0\t0\t0\t0\n", "status: Gid line missing"},
      {"Name:\tx\nUid:\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
       "status: Uid value 4 of 4 missing or not a number"},
      {"Uid:\t0\t0\t0\t0\nGid:\tx\t0\t0\t0\n", "status: Gid value 1 of 4 missing or not a number"},
      {"Uid:\t0\t0\t-1\t0\n", "status: Uid value 3 of 4 missing or not a number"},
      {ids + "Threads:\tmany\n", "status: Threads not a number"},
      {ids + "Tgid:\t\n", "status: Tgid not a number"},
      {ids + "PPid:\tone\n", "status: PPid not a number"},
      {ids + "VmRSS:\t  abc kB\n", "status: VmRSS not a number"},
      {ids + "VmSize:\t kB\n", "status: VmSize not a number"},
      {"garbage without colons\n\n\n", "status: Uid line missing"},
  };
  for (const auto& c : cases) {
    auto s = parse_status(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.error().message, c.error) << c.text;
  }
}

TEST(ParseCmdline, Table) {
  struct Case {
    std::string raw;
    size_t max_args, max_bytes;
    std::vector<std::string> argv;
    bool truncated;
  } cases[] = {
      {"", 256, 4096, {}, false},
      {"a\0b\0"s, 256, 4096, {"a", "b"}, false},
      {"a\0b"s, 256, 4096, {"a", "b"}, false},
      {"sshd: alice@pts/0 [priv]", 256, 4096, {"sshd: alice@pts/0 [priv]"}, false},
      {"a\0\0b\0"s, 256, 4096, {"a", "", "b"}, false},
      {"\0"s, 256, 4096, {""}, false},
      {"\0\0"s, 256, 4096, {"", ""}, false},
      {"python3\0-c\0print(1)\0"s, 256, 4096, {"python3", "-c", "print(1)"}, false},
      {"a\0b\0c\0"s, 2, 4096, {"a", "b"}, true},
      {"a\0b\0"s, 2, 4096, {"a", "b"}, false},
      {"abcdef\0gh\0"s, 256, 4, {"abcd"}, true},
      {"ab\0cd\0"s, 256, 4, {"ab", "cd"}, false},
      {"ab\0cd\0e\0"s, 256, 4, {"ab", "cd"}, true},
      {"a\0"s, 0, 4096, {}, true},
      {"abc\0"s, 10, 0, {}, true},
  };
  for (const auto& c : cases) {
    bool truncated = !c.truncated;
    auto argv = parse_cmdline(c.raw, c.max_args, c.max_bytes, &truncated);
    EXPECT_EQ(argv, c.argv) << "raw size " << c.raw.size();
    EXPECT_EQ(truncated, c.truncated) << "raw size " << c.raw.size();
  }
  // The flag pointer is optional.
  EXPECT_EQ(parse_cmdline("x\0y\0"s, 1, 10, nullptr), std::vector<std::string>{"x"});
}

TEST(ParseCgroup, PicksV2ThenSystemdThenFirst) {
  struct Case {
    std::string text;
    std::string path;
  } cases[] = {
      {"9:name=systemd:/system.slice/a.service\n4:memory:/mem\n0::/system.slice/b.service\n",
       "/system.slice/b.service"},
      {"0::/user.slice\n", "/user.slice"},
      {"0::/user.slice", "/user.slice"},
      {"9:cpuset:/\n4:memory:/m\n1:name=systemd:/system.slice/agent.service\n",
       "/system.slice/agent.service"},
      {"3:cpu,name=systemd:/s\n4:memory:/m\n", "/s"},
      {"4:memory:/process_api/f87\n3:cpuset:/\n", "/process_api/f87"},
      {"0::/a:b\n", "/a:b"},
      {"junk\n0::/x\n", "/x"},
      {"1:name=systemd:\n2:cpu:/c\n", "/c"},  // empty path lines are skipped
  };
  for (const auto& c : cases) {
    auto p = parse_cgroup(c.text);
    ASSERT_TRUE(p.ok()) << c.text << ": " << p.error().message;
    EXPECT_EQ(*p, c.path) << c.text;
  }
}

TEST(ParseCgroup, NoValidLineIsAnError) {
  for (std::string text :
       {""s, "\n"s, "garbage\n"s, "x::/a\n"s, "1:cpu:\n"s, "0:/a\n"s, "-1::/a\n"s}) {
    auto p = parse_cgroup(text);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.error().message, "cgroup: no valid \"id:controllers:path\" line");
  }
}

TEST(ContainerId, Layouts) {
  const std::string id = "e0c17843ec9840607f278476c238603ec62ba018b8a9fd70a426327ba3d7cb6a";
  const std::string pod = "pod0f3a7c2e-5d1b-4c8e-9a6f-2b7d8e1c4a90";
  const std::string podu = "pod0f3a7c2e_5d1b_4c8e_9a6f_2b7d8e1c4a90";
  struct Case {
    std::string path, want;
  } cases[] = {
      {"/docker/" + id, id},
      {"/system.slice/docker-" + id + ".scope", id},
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-" + podu +
           ".slice/cri-containerd-" + id + ".scope",
       id},
      {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-" + podu + ".slice/crio-" +
           id + ".scope",
       id},
      {"/machine.slice/libpod-" + id + ".scope", id},
      {"/machine.slice/libpod-" + id + ".scope/container", id},
      {"/kubepods/burstable/" + pod + "/" + id, id},
      {"/kubepods/besteffort/" + pod + "/" + id, id},
      {"/kubepods/" + pod + "/" + id, id},
      {"/system.slice/docker-" + id + ".scope/init.scope", id},
      {"/docker/" + id + "/", id},
      // Not containers, or not exactly 64 lowercase hex.
      {"/system.slice/ssh.service", ""},
      {"/", ""},
      {"", ""},
      {"/user.slice/user-1000.slice/session-3.scope", ""},
      {"/docker/" + id.substr(1), ""},
      {"/docker/" + id + "0", ""},
      {"/docker/E0C17843EC9840607F278476C238603EC62BA018B8A9FD70A426327BA3D7CB6A", ""},
      {"/system.slice/docker-" + id.substr(0, 63) + "g.scope", ""},
      {"/system.slice/docker-" + id + ".service", ""},
      {"/machine.slice/libpod-conmon-" + id + ".scope", ""},  // the monitor, not the container
      {"/system.slice/crio-conmon-" + id + ".scope", ""},
      {"/user.slice/" + id, ""},  // bare hex outside docker/ or a pod is not claimed
      {id, ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(container_id_from_cgroup(c.path), c.want) << c.path;
  }
}

// The pattern table, from real-world cgroup paths (v2 "0::" paths and v1 name=systemd paths
// look the same), with near misses that must not match.
TEST(ContainerFromCgroup, EveryRuntimeLayout) {
  const std::string id = "e0c17843ec9840607f278476c238603ec62ba018b8a9fd70a426327ba3d7cb6a";
  const std::string id2 = "4f9c5e1d2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5";
  const std::string uid = "0f3a7c2e-5d1b-4c8e-9a6f-2b7d8e1c4a90";
  const std::string uidu = "0f3a7c2e_5d1b_4c8e_9a6f_2b7d8e1c4a90";
  const std::string statik = "8f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f";  // static pod: config hash
  struct Case {
    std::string path, id, runtime, kind, pod;
  } cases[] = {
      // docker
      {"/docker/" + id, id, "docker", "container", ""},
      {"/docker/" + id + "/", id, "docker", "container", ""},
      {"/system.slice/docker-" + id + ".scope", id, "docker", "container", ""},
      {"/system.slice/docker-" + id + ".scope/init.scope", id, "docker", "container", ""},
      {"/system.slice/docker-" + id + ".scope/system.slice/nginx.service", id, "docker",
       "container", ""},
      {"/user.slice/user-1000.slice/user@1000.service/docker.service/docker/" + id, id, "docker",
       "container", ""},
      {"/docker/" + id + "/docker/" + id2, id2, "docker", "container", ""},  // docker-in-docker
      {"/moby/" + id, id, "docker", "container", ""},
      // containerd
      {"/k8s.io/" + id, id, "containerd", "container", ""},
      {"/system.slice/nerdctl-" + id + ".scope", id, "containerd", "container", ""},
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidu +
           ".slice/cri-containerd-" + id + ".scope",
       id, "containerd", "container", uid},
      {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidu +
           ".slice/cri-containerd-" + id + ".scope",
       id, "containerd", "container", uid},
      {"/kubepods.slice/kubepods-pod" + uidu + ".slice/cri-containerd-" + id + ".scope", id,
       "containerd", "container", uid},  // Guaranteed QoS
      {"/system.slice/containerd.service/kubepods-burstable-pod" + uidu + ".slice:cri-containerd:" +
           id,
       "", "containerd", "runtime", ""},  // containerd's own service cgroup: the runtime
      {"/system.slice/containerd.service", "", "containerd", "runtime", ""},  // shims, runc
      {"/system.slice/crio.service", "", "cri-o", "runtime", ""},
      // CRI-O
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidu + ".slice/crio-" +
           id + ".scope",
       id, "cri-o", "container", uid},
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidu +
           ".slice/crio-conmon-" + id + ".scope",
       id, "cri-o", "runtime", uid},
      {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidu + ".slice/crio-" +
           id + ".scope/container",
       id, "cri-o", "container", uid},
      {"/kubepods/burstable/pod" + uid + "/crio-" + id, id, "cri-o", "container", uid},
      {"/kubepods/burstable/pod" + uid + "/crio-conmon-" + id, id, "cri-o", "runtime", uid},
      {"/system.slice/crio-conmon-" + id + ".scope", id, "cri-o", "runtime", ""},
      // podman
      {"/machine.slice/libpod-" + id + ".scope", id, "podman", "container", ""},
      {"/machine.slice/libpod-" + id + ".scope/container", id, "podman", "container", ""},
      {"/machine.slice/libpod-" + id + ".scope/container/sub/deeper", id, "podman", "container",
       ""},
      {"/machine.slice/libpod-conmon-" + id + ".scope", id, "podman", "runtime", ""},
      {"/libpod_parent/libpod-" + id, id, "podman", "container", ""},
      {"/libpod_parent/conmon", "", "podman", "runtime", ""},
      {"/user.slice/user-1000.slice/user@1000.service/docker.service/docker/" + id + "/x", id,
       "docker", "container", ""},  // rootless docker: the container inside dockerd's unit
      {"/libpod_parent/libpod-" + id + "/container", id, "podman", "container", ""},
      {"/libpod_parent/" + id2 + "/libpod-" + id, id, "podman", "container", ""},  // in a pod
      {"/machine.slice/machine-libpod_pod_" + id2 + ".slice/libpod-" + id + ".scope", id,
       "podman", "container", ""},
      {"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id +
           ".scope/container",
       id, "podman", "container", ""},  // rootless
      // LXC / LXD
      {"/lxc.payload.web1", "web1", "lxc", "container", ""},
      {"/lxc.payload.web1/system.slice/cron.service", "web1", "lxc", "container", ""},
      {"/lxc.payload.default_web1/init.scope", "default_web1", "lxc", "container", ""},
      {"/lxc.monitor.web1", "web1", "lxc", "runtime", ""},
      {"/lxc/web1", "web1", "lxc", "container", ""},
      {"/lxc/web1/system.slice/ssh.service", "web1", "lxc", "container", ""},
      {"/lxc.payload.web1/docker/" + id, id, "docker", "container", ""},  // docker inside LXC
      // systemd-nspawn
      {"/machine.slice/machine-debian12.scope", "debian12", "systemd-nspawn", "container", ""},
      {"/machine.slice/machine-my\\x2dbox.scope/payload/system.slice/ssh.service", "my-box",
       "systemd-nspawn", "container", ""},
      {"/machine.slice/machine-my\\x2dbox.scope/supervisor", "my-box", "systemd-nspawn",
       "runtime", ""},
      // kubepods, cgroupfs driver, every QoS class
      {"/kubepods/besteffort/pod" + uid + "/" + id, id, "cri", "container", uid},
      {"/kubepods/burstable/pod" + uid + "/" + id, id, "cri", "container", uid},
      {"/kubepods/pod" + uid + "/" + id, id, "cri", "container", uid},
      {"/kubepods/burstable/pod" + statik + "/" + id, id, "cri", "container", statik},
      {"/kubepods/burstable/pod" + uid, "", "", "", uid},  // the pod's own cgroup
      {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidu + ".slice", "",
       "", "", uid},
      // Near misses.
      {"/docker/" + id.substr(1), "", "", "", ""},                // 63 hex
      {"/docker/" + id + "0", "", "", "", ""},                    // 65 hex
      {"/system.slice/docker-" + id.substr(1) + ".scope", "", "", "", ""},
      {"/system.slice/docker-" + id + "0.scope", "", "", "", ""},
      {"/system.slice/docker-foo.service", "", "", "", ""},
      {"/system.slice/docker.service", "", "docker", "runtime", ""},  // dockerd
      {"/system.slice/docker.socket", "", "", "", ""},
      {"/system.slice/containerd-foo.service", "", "", "", ""},
      {"/system.slice/docker-" + id + ".service", "", "", "", ""},
      {"/system.slice/docker-" + id + ".mount", "", "", "", ""},
      {"/machine.slice/libpod-" + id.substr(0, 63) + "g.scope", "", "", "", ""},
      {"/machine.slice/libpod-nothexatall.scope", "", "", "", ""},
      {"/libpod_parent/libpod-" + std::string(64, 'z'), "", "", "", ""},
      {"/libpod_parent/conmon-x", "", "", "", ""},
      {"/docker/E0C17843EC9840607F278476C238603EC62BA018B8A9FD70A426327BA3D7CB6A", "", "", "",
       ""},
      {"/user.slice/" + id, "", "", "", ""},  // bare hex outside docker/ or a pod
      {"/pod" + uid + "/" + id, "", "", "", ""},  // pod-like name not under kubepods
      {"/kubepods/burstable/podnot-a-uid/" + id, "", "", "", ""},
      {"/machine.slice/machine-qemu\\x2d1\\x2ddebian.scope/libvirt/emulator", "", "", "", ""},
      {"/machine.slice/machine-foo.slice", "", "", "", ""},
      {"/machine.slice/machine-a\\x2fb.scope", "", "", "", ""},  // an escaped '/' is no name
      {"/machine.slice/machine-a\\x01b.scope", "", "", "", ""},
      {"/system.slice/machine-foo.scope", "", "", "", ""},
      {"/lxc.payload.", "", "", "", ""},
      {"/system.slice/lxc.service", "", "", "", ""},
      {"/system.slice/ssh.service", "", "", "", ""},
      {"/user.slice/user-1000.slice/session-3.scope", "", "", "", ""},
      {"/", "", "", "", ""},
      {"", "", "", "", ""},
      {id, "", "", "", ""},
  };
  for (const auto& c : cases) {
    auto r = container_from_cgroup(c.path);
    EXPECT_EQ(r.id, c.id) << c.path;
    EXPECT_EQ(r.runtime, c.runtime) << c.path;
    EXPECT_EQ(r.kind, c.kind) << c.path;
    EXPECT_EQ(r.pod_uid, c.pod) << c.path;
    EXPECT_EQ(container_id_from_cgroup(c.path), c.kind == "container" ? c.id : "") << c.path;
  }
}

TEST(ParseAttrCurrent, StripsTrailingNulAndNewline) {
  struct Case {
    std::string text, want;
  } cases[] = {
      {"unconfined\n", "unconfined"},
      {"system_u:system_r:init_t:s0\0"s, "system_u:system_r:init_t:s0"},
      {"/usr/sbin/sshd (enforce)\n\0"s, "/usr/sbin/sshd (enforce)"},
      {"x\n\n", "x"},
      {"", ""},
      {"\n", ""},
      {"\0"s, ""},
      {"a\nb\n", "a\nb"},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_attr_current(c.text), c.want) << c.text;
}

TEST(ParseExeLink, DeletedSuffix) {
  struct Case {
    std::string target, path;
    bool deleted;
  } cases[] = {
      {"/usr/bin/python3.11", "/usr/bin/python3.11", false},
      {"/opt/app/bin/agent (deleted)", "/opt/app/bin/agent", true},
      {" (deleted)", "", true},
      {"/a (deleted) b", "/a (deleted) b", false},
      {"/a(deleted)", "/a(deleted)", false},
      {"", "", false},
  };
  for (const auto& c : cases) {
    auto e = parse_exe_link(c.target);
    EXPECT_EQ(e.path, c.path) << c.target;
    EXPECT_EQ(e.deleted, c.deleted) << c.target;
  }
}

}  // namespace
