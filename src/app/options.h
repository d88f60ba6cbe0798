// Command-line options shared by the sub-commands. Filled by CLI11 in main.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace procwatch::app {

struct CommonOptions {
  std::string source = "auto";   // auto|ebpf|netlink|procfs
  std::string procfs_root = "/proc";
  int interval_ms = 500;          // procfs poller
  uint64_t rcvbuf_bytes = 64ull << 20;
  bool json = false;
  std::string color = "auto";     // auto|always|never
  std::string config;             // trace/tree --config: only its redact settings are used
  // Where the container runtimes keep their files (containers::ResolverOptions).
  std::string containers_podman_root = "/var/lib/containers/storage";
  std::string containers_docker_root = "/var/lib/docker";
  std::string containers_pods_log_root = "/var/log/pods";
  std::string containers_log_root = "/var/log/containers";
  bool tree_by_container = false;  // tree --containers
};

// Whether to colour output: "always", "never", or "auto" (a terminal without NO_COLOR).
bool want_color(const std::string& mode);

// Exit codes (documented in README): 0 ok, 1 runtime failure, 2 usage/config/permission.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace procwatch::app
