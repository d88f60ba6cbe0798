// Container names for trace, tree and serve: the --containers.* flags and the wiring of a
// containers::ContainerResolver into a ProcReader.
#pragma once

#include "app/options.h"
#include "procfs/reader.h"

namespace CLI {
class App;
}

namespace procwatch::app {

// --containers.podman-root, --containers.docker-root, --containers.pods-log-root,
// --containers.containers-log-root (an empty value turns that source off).
void add_container_options(CLI::App* cmd, CommonOptions& o);

// Makes `reader` name the containers of the processes it reads, from the runtimes' files
// under the roots in `opts`. The resolver lives as long as the reader's namer.
void use_container_names(procfs::ProcReader& reader, const CommonOptions& opts);

}  // namespace procwatch::app
