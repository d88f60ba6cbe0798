// The project's one HTTP client (libcurl): a blocking GET or POST of http:// or https:// URLs,
// used by `check --from`, `baseline --from` and the scrape benchmark. Thread-safe (each call has its own handle). Never
// throws; an error is one line naming what failed (no URL credentials in it).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace procwatch::http_client {

struct GetOptions {
  long timeout_ms = 10000;     // whole request, connect included
  std::string accept;          // Accept header; empty: none
  // Basic auth. "user:password@" in the URL works too; these win when set.
  std::string user, password;
  std::string ca_file;         // https: trust this PEM bundle instead of the system's
  bool insecure = false;       // https: do not verify the certificate or the host name
  size_t max_bytes = size_t(64) << 20;  // a longer body is an error
};

struct Response {
  long status = 0;           // 200, 404, ...
  std::string status_line;   // "HTTP/1.1 404 Not Found" (without CR LF)
  std::string content_type;
  std::string body;
};

// Any status is a Response; an error is a transport failure (resolve, connect, TLS, timeout,
// too large, bad URL or scheme other than http/https).
Result<Response> get(const std::string& url, const GetOptions& options = {});
// GET or POST (with `body` and its Content-Type); the same errors as get().
Result<Response> request(std::string_view method, const std::string& url, const std::string& body,
                         const std::string& content_type, const GetOptions& options = {});

// True for an http:// or https:// URL, the only schemes get() and request() take.
bool is_http_url(std::string_view url);

// `url` with any "user:password@" replaced by "user:***@", for messages.
std::string redact_url(const std::string& url);

}  // namespace procwatch::http_client
