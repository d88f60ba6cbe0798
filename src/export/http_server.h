// HttpServer: a small libmicrohttpd server mapping exact paths to handlers (/metrics, /,
// /-/healthy, /api/v1/rules; POST-only paths with a bounded body, /api/v1/baseline/approve).
// Basic auth and client certificates are checked before a POST body is read. Register
// handlers before start(); they then run on the server's
// pool threads, concurrently, so they must be thread-safe. The pool threads are event-driven
// (epoll), so a slow or idle client holds a socket, never a thread; connections, their idle time
// and their request size are bounded (ServerOptions). TLS is GnuTLS, linked (no dlopen).
// start() reports a one-line error naming the address (busy port, bad address) instead of
// throwing; stop() is idempotent. set_access() may be called at any time (e.g. on SIGHUP).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "export/basic_auth.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace procwatch::http {

struct Request {
  std::string method;  // GET or HEAD, or POST for handle_post() paths (others: 405)
  std::string path;
  std::string query;  // after '?', undecoded; "" when none
  std::string body;   // POST only; at most the handler's max_body bytes (else 413)
  bool authenticated = false;  // basic auth is configured and the client passed it
  bool loopback = false;       // the client connected from 127.0.0.0/8 or ::1
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = std::function<Response(const Request&)>;

// exporter-toolkit's client_auth_type values.
enum class ClientAuth { kNone, kRequest, kRequireAny, kVerifyIfGiven, kRequireAndVerify };

struct TlsOptions {
  std::string cert_pem, key_pem;  // server certificate chain and private key (PEM)
  std::string ca_pem;             // client CAs (PEM); "" when none
  ClientAuth client_auth = ClientAuth::kNone;
  std::string priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";  // GnuTLS syntax
  bool operator==(const TlsOptions&) const = default;
};

struct ServerOptions {
  int threads = 4;                     // pool threads that parse requests and run handlers
  unsigned connection_limit = 512;     // open connections in all
  unsigned per_ip_limit = 384;         // open connections from one client address (0: none)
  unsigned timeout_s = 10;             // idle time after which a connection is closed
  size_t request_memory = 32 * 1024;   // per-connection buffer: bounds request line + headers
  std::optional<TlsOptions> tls;       // plain HTTP when empty
};

// Who may read and what every response carries; swapped whole by set_access().
struct Access {
  std::shared_ptr<const auth::BasicAuth> users;  // null or empty: no authentication
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
};

// A parsed listen address: host "" means every address (dual-stack [::] when the machine has
// IPv6, else 0.0.0.0).
struct ListenAddress {
  std::string host;  // "", "127.0.0.1", "::1", "::" (no brackets)
  int port = 0;
};

// ":9501", "127.0.0.1:9501", "[::1]:9501", "[::]:9501". Error for anything else.
Result<ListenAddress> parse_listen_address(std::string_view listen_address);

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
  // A POST-only path whose body is read up to max_body bytes (a longer one is answered 413
  // without calling the handler). Same authentication as every other path.
  void handle_post(std::string path, Handler handler, size_t max_body);
  // Binds and starts. Error message names the address.
  Result<bool> start(const std::string& listen_address, const ServerOptions& options);
  Result<bool> start(const std::string& listen_address, int threads = 4) {
    ServerOptions o;
    o.threads = threads;
    return start(listen_address, o);
  }
  void stop();
  // Port actually bound, 0 before start().
  int port() const { return port_; }
  bool running() const { return daemon_ != nullptr; }
  const ServerOptions& options() const { return options_; }

  void set_access(Access access);

 private:
  friend struct ServerCallbacks;
  std::shared_ptr<const Access> access() const;

  struct PostRoute {
    Handler handler;
    size_t max_body = 0;
  };
  std::map<std::string, Handler, std::less<>> handlers_;
  std::map<std::string, PostRoute, std::less<>> posts_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  ServerOptions options_;
  mutable std::mutex access_mu_;
  std::shared_ptr<const Access> access_ = std::make_shared<Access>();
};

}  // namespace procwatch::http
