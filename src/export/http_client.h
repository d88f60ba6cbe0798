// HttpClient: one blocking HTTP(S) request with libcurl, for the sub-commands that talk to a
// running `procwatch serve` (`baseline --from URL`). Bounded: a timeout and a cap on the
// response size. Errors are one line naming the URL. Thread-compatible (no shared state).
#pragma once

#include <cstddef>
#include <string>

#include "core/result.h"

namespace procwatch::http {

struct ClientRequest {
  std::string method = "GET";  // GET or POST
  std::string url;
  std::string body;            // POST only
  std::string content_type = "application/json";
  std::string user, password;  // basic auth when user is not empty
  std::string ca_file;         // PEM CA bundle to verify an https server by; "" = the system's
  long timeout_s = 10;
  size_t max_response = 64u << 20;
};

struct ClientResponse {
  long status = 0;
  std::string body;
};

// The response for any HTTP status; an Error only when there is none (no connection, TLS
// failure, timeout, response larger than max_response).
Result<ClientResponse> request(const ClientRequest& req);

}  // namespace procwatch::http
