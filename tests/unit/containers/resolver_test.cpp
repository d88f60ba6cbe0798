#include "containers/resolver.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace procwatch::containers {
namespace {

std::string fixtures() { return std::string(PROCWATCH_FIXTURES) + "/containers"; }
std::string rep(const char* two) {
  std::string s;
  for (int i = 0; i < 32; ++i) s += two;
  return s;
}

ResolverOptions fixture_options() {
  ResolverOptions o;
  o.podman_root = fixtures() + "/storage";
  o.docker_root = fixtures() + "/docker";
  o.pods_log_root = fixtures() + "/pods";
  o.containers_log_root = fixtures() + "/containers-log";
  return o;
}

TEST(ContainerResolver, EveryLayout) {
  ContainerResolver r(fixture_options());
  struct Case {
    std::string id, runtime, pod_uid;
    std::string name, image, want_runtime, pod, ns;
  } cases[] = {
      // podman: containers.json names and metadata image-name
      {rep("a1"), "podman", "", "pwtest-web", "localhost/pwtest:latest", "podman", "", ""},
      // CRI-O: k8s_ name in containers storage, image from images.json, runtime refined
      {rep("c2"), "cri-o", "0f3a7c2e-5d1b-4c8e-9a6f-2b7d8e1c4a90", "nginx",
       "registry.k8s.io/nginx:1.25", "cri-o", "web-7d4b9c", "shop"},
      // an image without a name: its short id
      {rep("0b"), "podman", "", "noimage", "555555555555", "podman", "", ""},
      // docker: config.v2.json
      {rep("d3"), "docker", "", "web", "nginx:1.25", "docker", "", ""},
      // dockershim under kubepods cgroupfs: runtime found from docker's files, CRI labels
      {rep("e4"), "cri", "11111111-2222-3333-4444-555555555555", "api",
       "sha256:" + rep("7c"), "docker", "api-5f6d", "prod"},
      // containerd (nothing on disk but the kubelet's logs): pod from /var/log/pods, the
      // container from /var/log/containers links
      {rep("f5"), "containerd", "22222222-3333-4444-5555-666666666666", "cart", "", "containerd",
       "cart-66c8f", "shop"},
      // a one-container pod needs no links
      {rep("77"), "cri", "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "node-exporter", "", "cri",
       "node-exporter-x2k9p", "monitoring"},
      // a pod found but the container unknown among two
      {rep("88"), "containerd", "22222222-3333-4444-5555-666666666666", "", "", "containerd",
       "cart-66c8f", "shop"},
      // LXC and nspawn: the cgroup names them
      {"web1", "lxc", "", "web1", "", "lxc", "", ""},
      {"debian12", "systemd-nspawn", "", "debian12", "", "systemd-nspawn", "", ""},
      // unknown everywhere
      {rep("99"), "docker", "", "", "", "docker", "", ""},
      {rep("99"), "podman", "", "", "", "podman", "", ""},
  };
  for (const auto& c : cases) {
    ContainerResolver fresh(fixture_options());
    ContainerNames n = fresh.resolve(c.id, c.runtime, c.pod_uid);
    EXPECT_EQ(n.name, c.name) << c.id;
    EXPECT_EQ(n.image, c.image) << c.id;
    EXPECT_EQ(n.runtime, c.want_runtime) << c.id;
    EXPECT_EQ(n.pod, c.pod) << c.id;
    EXPECT_EQ(n.pod_namespace, c.ns) << c.id;
  }
}

TEST(ContainerResolver, FillSetsProcInfoOnlyInAContainer) {
  ContainerResolver r(fixture_options());
  ProcInfo host;
  r.fill(host);
  EXPECT_EQ(host.container_name, "");
  EXPECT_EQ(r.lookups(), 0u);

  ProcInfo p;
  p.container_id = rep("a1");
  p.container_runtime = "podman";
  r.fill(p);
  EXPECT_EQ(p.container_name, "pwtest-web");
  EXPECT_EQ(p.image, "localhost/pwtest:latest");
  EXPECT_EQ(p.container_runtime, "podman");

  ProcInfo k;
  k.container_id = rep("e4");
  k.container_runtime = "cri";
  k.pod_uid = "11111111-2222-3333-4444-555555555555";
  r.fill(k);
  EXPECT_EQ(k.container_runtime, "docker");
  EXPECT_EQ(k.pod, "api-5f6d");
  EXPECT_EQ(k.pod_namespace, "prod");
}

TEST(ContainerResolver, CachesMissesAndIsBounded) {
  ResolverOptions o = fixture_options();
  o.max_entries = 4;
  ContainerResolver r(o);
  for (int round = 0; round < 3; ++round) r.resolve(rep("a1"), "podman", "");
  EXPECT_EQ(r.lookups(), 1u);  // looked up once, when first seen
  r.resolve(rep("99"), "podman", "");
  r.resolve(rep("99"), "podman", "");
  EXPECT_EQ(r.lookups(), 2u);  // a miss is cached too
  for (int i = 0; i < 20; ++i) {
    r.resolve(std::string(63, 'a') + char('0' + i % 10) + std::to_string(i), "docker", "");
    EXPECT_LE(r.cache_size(), 4u);
  }
}

TEST(ContainerResolver, RefusesOversizedAndBrokenFiles) {
  const std::string dir = ::testing::TempDir() + "/pw_containers_big";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/overlay-containers");
  std::filesystem::create_directories(dir + "/d/containers/" + rep("d3"));
  {
    std::ofstream f(dir + "/overlay-containers/containers.json");
    f << "[{\"id\":\"" << rep("a1") << "\",\"names\":[\"big\"]}]";
    f << std::string(4096, ' ');
  }
  {
    std::ofstream f(dir + "/d/containers/" + rep("d3") + "/config.v2.json");
    f << "{\"Name\": \"/broken\", ";  // truncated JSON
  }
  ResolverOptions o;
  o.podman_root = dir;
  o.docker_root = dir + "/d";
  o.pods_log_root = "";
  o.max_file_bytes = 1024;
  ContainerResolver r(o);
  EXPECT_EQ(r.resolve(rep("a1"), "podman", "").name, "");
  EXPECT_EQ(r.resolve(rep("d3"), "docker", "").name, "");
  o.max_file_bytes = 1 << 20;
  ContainerResolver big(o);
  EXPECT_EQ(big.resolve(rep("a1"), "podman", "").name, "big");
  std::filesystem::remove_all(dir);
}

TEST(ParseK8sName, KubeletContainerNames) {
  ContainerNames n;
  EXPECT_TRUE(parse_k8s_name("k8s_nginx_web-7d4b9c_shop_0f3a7c2e-5d1b-4c8e-9a6f-2b7d8e1c4a90_0", &n));
  EXPECT_EQ(n.name, "nginx");
  EXPECT_EQ(n.pod, "web-7d4b9c");
  EXPECT_EQ(n.pod_namespace, "shop");
  ContainerNames m;
  EXPECT_FALSE(parse_k8s_name("k8s_nginx_web", &m));
  EXPECT_FALSE(parse_k8s_name("pwtest-web", &m));
  EXPECT_FALSE(parse_k8s_name("k8s__web_ns_uid_0", &m));
  EXPECT_EQ(m.name, "");
}

}  // namespace
}  // namespace procwatch::containers
