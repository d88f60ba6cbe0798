#include "app/container_names.h"

#include <memory>

#include <CLI/CLI.hpp>

#include "containers/resolver.h"

namespace procwatch::app {

void add_container_options(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("--containers.podman-root", o.containers_podman_root,
                  "podman and CRI-O containers storage (containers.json, images.json); "
                  "empty: not read")
      ->capture_default_str();
  cmd->add_option("--containers.docker-root", o.containers_docker_root,
                  "docker's data root (containers/<id>/config.v2.json); empty: not read")
      ->capture_default_str();
  cmd->add_option("--containers.pods-log-root", o.containers_pods_log_root,
                  "kubelet's pod logs (<namespace>_<pod>_<uid>/<container>/); empty: not read")
      ->capture_default_str();
  cmd->add_option("--containers.containers-log-root", o.containers_log_root,
                  "kubelet's container log links (<pod>_<namespace>_<container>-<id>.log); "
                  "empty: not read")
      ->capture_default_str();
}

void use_container_names(procfs::ProcReader& reader, const CommonOptions& opts) {
  containers::ResolverOptions ro;
  ro.podman_root = opts.containers_podman_root;
  ro.docker_root = opts.containers_docker_root;
  ro.pods_log_root = opts.containers_pods_log_root;
  ro.containers_log_root = opts.containers_log_root;
  auto resolver = std::make_shared<containers::ContainerResolver>(std::move(ro));
  reader.set_container_namer([resolver](ProcInfo& info) { resolver->fill(info); });
}

}  // namespace procwatch::app
