#include "naming/random_name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace procwatch {
namespace {

// Machine-made names: mktemp, hashes, ids, base64-like tokens.
const std::vector<std::string> kRandom = {
    "ZW50cm9weQo",
    "tmp.aB3dE9fG2h",
    "tmp.XXXXXXXXXX",
    "tmp.k3J9xQ2mZp",
    "tmp.Qw8eRt5yU1",
    "tmp.4fKq9z",
    "3f9a2b7c1d4e5f60",
    "0123456789abcdef0123456789abcdef",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "123e4567-e89b-12d3-a456-426614174000",
    "F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6",
    "session-123e4567-e89b-12d3-a456-426614174000.d",
    "systemd-private-3f1c2a9b8d7e4f60a1b2c3d4e5f60718-cron.service-AbC123",
    "dGVzdGluZzEyMw",
    "QmFzZTY0U3RyaW5n",
    "kJhGfDsAqWeR",
    "a8f3k2j9x7q1",
    "Xy7Pq2Lm9Rt4",
    "9fG2hJ4kL6mN",
    "R4nD0mStR1nG",
    "pZ3xV8bN1cQ7",
    "Tz9Wq4Ey2Ru6",
    "hJ8kL3mN5pQ2",
    "vB7nM4xC1zA9",
    "M2Q4YzE1ZTk",
    "3f9a2b7c1d4e",
    "0c2qg3xjz3a0v6y6jg1y4j0v9zxmd8fi",
    "x7Hq2Kp9",
    "bWFpbnRlbmFuY2U",
    "cache-9f86d081884c7d659a2feaa0c55ad015",
    "go-build4f7a9c2e81b3d6f0",
    "qwrtzpxkdjhgf",
};

// Names people and packagers choose.
const std::vector<std::string> kNotRandom = {
    "python3.11", "x86_64-linux-gnu", "site-packages", "lib64", "node_modules", ".cache", "1000",
    "systemd", "usr", "libexec", "2024-01-01", "gcc-12", "i686", "Python3", "LICENSE",
    "dist-packages", "__pycache__", "NetworkManager", "MicrosoftEdgeUpdate", "Qt5WebEngineCore",
    "libQt5Core", "libKF5CoreAddons", "GeoLite2City", "MP3Player2", "sha256sum", "ubuntu2204",
    "share", "local", "bin", "sbin", "lost+found", "ld-linux-x86-64.so.2", "libstdc++.so.6.0.30",
    "linux-headers-6.1.0-18-amd64", "openjdk-17-jre-headless", "java-17-openjdk-amd64",
    "pypy3.9-v7.3.11", ".npm", ".local", "snapd", "HelloWorld", "MyApp2024", "Win10Pro",
    "20240101", "1704067200", "v1.2.3", "go1.21.5", "jdk-21.0.2+13", "en_US.UTF-8", "X11R6",
    "aarch64-linux-gnu", "powershell", "com.example.app", "org.gnome.Shell",
    "backup-2024-01-01T12-00-00", "tmp", "tmp.conf", "tmp.d", "tmp.backup01", "prometheus",
    "deadbeefcafebabe", "Downloads", "workspace", "kubelet", "containerd", "ProgramData",
    "AppImageKit", "nvidia-smi", "libgtk-3.so.0", "top.py", "server.sh", "prom-cnproc",
};

TEST(RandomName, TablesAreBigEnough) {
  EXPECT_GE(kRandom.size(), 30u);
  EXPECT_GE(kNotRandom.size(), 30u);
}

TEST(RandomName, RandomNames) {
  for (const auto& n : kRandom) {
    EXPECT_TRUE(is_random_name(n)) << n << " score " << naming::random_token_score(n);
  }
}

TEST(RandomName, NotRandomNames) {
  for (const auto& n : kNotRandom) {
    EXPECT_FALSE(is_random_name(n)) << n << " score " << naming::random_token_score(n);
  }
}

TEST(RandomName, ScoreOrdersNoiseAboveWords) {
  EXPECT_GE(naming::random_token_score("ZW50cm9weQo"), naming::kRandomScore);
  EXPECT_LT(naming::random_token_score("ThisIsAName"), naming::kRandomScore);
  EXPECT_GT(naming::random_token_score("aB3dE9fG2h"), naming::random_token_score("MP3Player2"));
  EXPECT_EQ(naming::random_token_score("short"), 0);  // under 8 characters: never random
  EXPECT_EQ(naming::random_token_score("12345678901"), 0);  // numbers are not random
}

TEST(RandomName, EdgeCases) {
  EXPECT_FALSE(is_random_name(""));
  EXPECT_FALSE(is_random_name("a"));
  EXPECT_FALSE(is_random_name("......"));
  EXPECT_FALSE(is_random_name(std::string(300, '-')));
  // A UUID missing one digit is not a UUID, and its groups are too short to be hex ids.
  EXPECT_FALSE(is_random_name("123e4567-e89b-12d3-a456-42661417400"));
}

TEST(RandomDir, ChecksDirectoriesNotTheFile) {
  EXPECT_TRUE(has_random_dir("/tmp/ZW50cm9weQo/top.py"));
  EXPECT_TRUE(has_random_dir("/tmp/tmp.aB3dE9fG2h/sub/run"));
  EXPECT_TRUE(has_random_dir("ZW50cm9weQo/x.sh"));  // relative path as written
  EXPECT_FALSE(has_random_dir("/tmp/ZW50cm9weQo"));  // the file itself: a label matter
  EXPECT_FALSE(has_random_dir("/usr/lib/python3.11/site-packages/pip/__main__.py"));
  EXPECT_FALSE(has_random_dir("/usr/lib/x86_64-linux-gnu/libexec/kf5/kioslave5"));
  EXPECT_FALSE(has_random_dir("/home/user/.cache/node_modules/.bin/tsc"));
  EXPECT_FALSE(has_random_dir("top.py"));
  EXPECT_FALSE(has_random_dir(""));
  EXPECT_FALSE(has_random_dir("/"));
}

TEST(RandomDir, StoreHashesAreByDesign) {
  EXPECT_FALSE(has_random_dir("/nix/store/0c2qg3xjz3a0v6y6jg1y4j0v9zxmd8fi-bash-5.2/bin/bash"));
  EXPECT_FALSE(has_random_dir("/gnu/store/0c2qg3xjz3a0v6y6jg1y4j0v9zxmd8fi-guile-3.0/bin/guile"));
  // Only that one component is exempt.
  EXPECT_TRUE(
      has_random_dir("/nix/store/0c2qg3xjz3a0v6y6jg1y4j0v9zxmd8fi-x/ZW50cm9weQo/bin/tool"));
}

}  // namespace
}  // namespace procwatch
