// The --web.config.file format of Prometheus exporters (exporter-toolkit):
//
//   tls_server_config:    {cert_file, key_file, client_auth_type, client_ca_file, min_version}
//   http_server_config:   {headers: {Name: value}, http2: bool (accepted, ignored)}
//   basic_auth_users:     {user: bcrypt hash}
//
// Files named in it are read at parse time (relative paths are relative to the config file's
// folder) and the certificate and key are checked with GnuTLS, so a bad file is one start-up
// error. Every error names the file and the key: "web.yml: tls_server_config.cert_file: cannot
// read /x.pem: No such file or directory". Unknown keys are errors, as in exporter-toolkit.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "export/http_server.h"

namespace procwatch::web {

struct WebConfig {
  std::optional<http::TlsOptions> tls;       // with the PEM contents already read
  std::string cert_file, key_file, client_ca_file;  // as resolved, for messages
  std::map<std::string, std::string> users;  // user -> bcrypt hash
  std::vector<std::pair<std::string, std::string>> headers;
  bool operator==(const WebConfig&) const = default;
};

// Reads a file named in the config; tests pass a map.
using FileReader = std::function<Result<std::string>(const std::string& path)>;
Result<std::string> read_whole_file(const std::string& path);

// `name` is how messages name the file; `dir` the folder relative paths start from.
Result<WebConfig> parse_web_config(std::string_view text, const std::string& name,
                                   const std::string& dir, const FileReader& read);
// Reads and parses `path`.
Result<WebConfig> load_web_config(const std::string& path);

// The GnuTLS priority string for exporter-toolkit's min_version/max_version.
Result<std::string> tls_priorities(std::string_view min_version, std::string_view max_version);

// The server access policy (users + headers) of a config.
http::Access access_of(const WebConfig& c);

}  // namespace procwatch::web
