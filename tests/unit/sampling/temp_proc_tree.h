// Test fixture: a temp copy of the fixture /proc tree whose stat lines a test rewrites
// between samples (shared by the sampler and rule-monitor tests).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace procwatch::sampling {

class TempProcTree : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("sampling-test-" + std::to_string(::getpid()) + "-" + info->test_suite_name() + "-" +
            info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::copy(std::string(PROCWATCH_FIXTURES) + "/proc/basic", dir_,
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::copy_symlinks);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Sets utime (field 14) and optionally the start time (field 22) of pid.
  void set_stat(int32_t pid, uint64_t utime, uint64_t start = 0) {
    const std::filesystem::path p = dir_ / std::to_string(pid) / "stat";
    std::ifstream in(p);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    size_t close = text.rfind(')');
    std::istringstream rest(text.substr(close + 2));
    std::vector<std::string> f(3);
    for (std::string w; rest >> w;) f.push_back(w);
    f[14] = std::to_string(utime);
    if (start != 0) f[22] = std::to_string(start);
    std::string out = text.substr(0, close + 1);
    for (size_t i = 3; i < f.size(); ++i) out += " " + f[i];
    std::ofstream(p, std::ios::trunc) << out << "\n";
  }

  std::filesystem::path dir_;
};

}  // namespace procwatch::sampling
