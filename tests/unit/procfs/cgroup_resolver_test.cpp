#include "procfs/cgroup_resolver.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace procwatch::procfs {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The "0::" line of /proc/self/cgroup, without the newline.
std::string own_cgroup_v2_path() {
  std::istringstream in(read_file("/proc/self/cgroup"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  return "";
}

TEST(Cgroup2Mount, FromMountinfoText) {
  const std::string hybrid =
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(cgroup2_mount_from_mountinfo(hybrid), "/sys/fs/cgroup/unified");
  const std::string unified =
      "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
  EXPECT_EQ(cgroup2_mount_from_mountinfo(unified), "/sys/fs/cgroup");
  // Escaped space; a bind mount of a sub-cgroup (root != "/") is not the hierarchy root.
  const std::string odd =
      "50 23 0:38 /sub /mnt/sub rw - cgroup2 cgroup2 rw\n"
      "51 23 0:38 / /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(cgroup2_mount_from_mountinfo(odd), "/mnt/my cg");
  EXPECT_FALSE(cgroup2_mount_from_mountinfo("32 31 0:29 / /x rw - cgroup cgroup rw,cpu\n"));
  EXPECT_FALSE(cgroup2_mount_from_mountinfo(""));
  EXPECT_FALSE(cgroup2_mount_from_mountinfo("garbage - -\n - cgroup2\n"));
}

TEST(CgroupResolver, ResolvesOwnCgroup) {
  auto root = find_cgroup2_mount();
  ASSERT_TRUE(root.ok()) << root.error().message;
  const std::string own = own_cgroup_v2_path();
  ASSERT_FALSE(own.empty()) << "no 0:: line in /proc/self/cgroup";
  struct stat st {};
  const std::string dir = *root + (own == "/" ? "" : own);
  ASSERT_EQ(stat(dir.c_str(), &st), 0) << dir;

  CgroupResolver r(*root);
  EXPECT_EQ(r.resolve(uint64_t(st.st_ino)), own);
  EXPECT_EQ(r.resolve(uint64_t(st.st_ino)), own);  // cached
  EXPECT_FALSE(r.resolve(0xfffffffffff0ull));      // no such cgroup
}

// A new cgroup created after the resolver first indexed the tree is found on the next miss,
// both through file handles and through the directory walk.
TEST(CgroupResolver, FindsNewCgroupAndNested) {
  auto root = find_cgroup2_mount();
  ASSERT_TRUE(root.ok());
  const std::string base = *root + "/procwatch-resolver-test-" + std::to_string(getpid());
  const std::string nested = base + "/child.scope";
  CgroupResolver r(*root);
  struct stat rst {};
  ASSERT_EQ(stat(root->c_str(), &rst), 0);
  EXPECT_EQ(r.resolve(uint64_t(rst.st_ino)), "/");
  ASSERT_EQ(mkdir(base.c_str(), 0755), 0) << "need root to create cgroups";
  ASSERT_EQ(mkdir(nested.c_str(), 0755), 0);
  struct stat st {};
  ASSERT_EQ(stat(nested.c_str(), &st), 0);
  EXPECT_EQ(r.resolve(uint64_t(st.st_ino)), nested.substr(root->size()));
  EXPECT_GE(r.handle_hits(), 1u) << "open_by_handle_at fast path not used";

  // Force the walk path: a resolver rooted at the same tree, with the handle fast path
  // unusable because the id is looked up after a rescan populated the cache.
  CgroupResolver r2(*root);
  EXPECT_FALSE(r2.resolve(0xfffffffffff1ull));  // triggers a full rescan
  EXPECT_GE(r2.rescans(), 1u);
  EXPECT_EQ(r2.resolve(uint64_t(st.st_ino)), nested.substr(root->size()));
  EXPECT_EQ(r2.handle_hits(), 0u) << "expected the id to come from the rescan's index";
  rmdir(nested.c_str());
  rmdir(base.c_str());
}

}  // namespace
}  // namespace procwatch::procfs
