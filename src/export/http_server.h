// HttpServer: a small CivetWeb server mapping exact paths to handlers (e.g. /metrics, /,
// /-/healthy; a JSON API is one more handle() call). Register handlers before start(); handlers
// then run on CivetWeb's worker threads, concurrently, so they must be thread-safe. start()
// reports a one-line error (busy port, bad address) instead of throwing; stop() is idempotent.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

struct mg_context;
struct mg_connection;

namespace procwatch::http {

struct Request {
  std::string method;  // GET or HEAD (others are answered 405 without calling the handler)
  std::string path;
  std::string query;  // after '?', undecoded; "" when none
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = std::function<Response(const Request&)>;

// Prometheus-style listen address -> CivetWeb "listening_ports": ":9501" -> "9501" (all IPv4
// addresses), "127.0.0.1:9501" unchanged, "[::1]:9501" unchanged. Error for anything else.
Result<std::string> civetweb_listening_ports(std::string_view listen_address);

// Whether start() could bind listen_address now (a test bind, closed at once): lets a daemon
// report a bad or busy address before it starts anything else. Same messages as start().
Result<bool> check_listen_address(const std::string& listen_address);

class Server {
 public:
  Server() = default;
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Exact path ("/metrics"); a later call for the same path replaces the handler.
  void handle(std::string path, Handler handler);
  // Binds and starts `threads` worker threads. Error message names the address.
  Result<bool> start(const std::string& listen_address, int threads = 4);
  void stop();
  // Port actually bound (first listening socket), 0 before start().
  int port() const { return port_; }

 private:
  static int dispatch(mg_connection* conn, void* self);

  std::map<std::string, Handler, std::less<>> handlers_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace procwatch::http
