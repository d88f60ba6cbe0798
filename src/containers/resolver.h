// ContainerResolver: container id -> names people recognise (container name, image, pod,
// namespace), read-only from what each runtime keeps on disk; no API server, no socket.
//   podman / CRI-O: <podman_root>/overlay-containers/containers.json (id, names, image id,
//                   metadata with the image name) and <podman_root>/overlay-images/images.json
//   docker:         <docker_root>/containers/<id>/config.v2.json (Name, Config.Image, CRI labels)
//   Kubernetes:     <pods_log_root>/<namespace>_<pod>_<uid>/<container>/ by pod UID, and the
//                   kubelet's <containers_log_root>/<pod>_<namespace>_<container>-<id>.log links
//   LXC, systemd-nspawn: the name is the cgroup's id itself; nothing is read.
// Files over max_file_bytes are refused. Results (misses too) are cached per id, at most
// max_entries (the cache is cleared when full), and looked up once when an id is first seen.
// Thread-safe (one internal mutex). Never throws.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/proc_info.h"

namespace procwatch::containers {

struct ResolverOptions {
  std::string podman_root = "/var/lib/containers/storage";
  std::string docker_root = "/var/lib/docker";
  std::string pods_log_root = "/var/log/pods";
  std::string containers_log_root = "/var/log/containers";
  size_t max_entries = 4096;
  size_t max_file_bytes = size_t(16) << 20;
};

struct ContainerNames {
  std::string name, image, runtime, pod, pod_namespace;
};

// The kubelet's container name "k8s_<container>_<pod>_<namespace>_<uid>_<attempt>" (docker,
// CRI-O): fills name, pod and pod_namespace; false when `full` is not one.
bool parse_k8s_name(std::string_view full, ContainerNames* out);

class ContainerResolver {
 public:
  explicit ContainerResolver(ResolverOptions opts = {});

  // Names for a container; `runtime` and `pod_uid` are what its cgroup said
  // (procfs::container_from_cgroup). runtime in the result is the runtime's own files' answer
  // where they had the id, else `runtime`.
  ContainerNames resolve(const std::string& id, const std::string& runtime,
                         const std::string& pod_uid);

  // Sets info's container_name, image, pod, pod_namespace (and refines container_runtime)
  // from info.container_id; does nothing when it is empty.
  void fill(ProcInfo& info);

  size_t cache_size() const;
  uint64_t lookups() const;  // ids looked up on disk (cache misses)

 private:
  ContainerNames lookup(const std::string& id, const std::string& runtime,
                        const std::string& pod_uid) const;
  bool from_containers_storage(const std::string& id, ContainerNames* out) const;
  bool from_docker(const std::string& id, ContainerNames* out) const;
  void from_kubelet_logs(const std::string& id, const std::string& pod_uid,
                         ContainerNames* out) const;

  ResolverOptions opts_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, ContainerNames> cache_;
  uint64_t lookups_ = 0;
};

}  // namespace procwatch::containers
