#include "export/http_server.h"
#include "http_client/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

namespace procwatch::http {
namespace {

// A listening TCP socket on 127.0.0.1 with a kernel-chosen port (closed in the destructor).
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(fd, 4) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
};

int free_port() { return Listener().port; }

// Minimal HTTP/1.0 client for the tests: the raw response (status line, headers, body).
std::string request(int port, const std::string& method, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = method + " " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
    if (write(fd, req.data(), req.size()) == ssize_t(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    }
  }
  close(fd);
  return out;
}

// Sends `raw` as is to 127.0.0.1 (or ::1 when v6) and returns all that comes back.
std::string talk(int port, const std::string& raw, bool v6 = false) {
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int rc;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(uint16_t(port));
    a.sin6_addr = in6addr_loopback;
    rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  std::string out;
  if (rc == 0) {
    size_t off = 0;
    while (off < raw.size()) {
      const ssize_t n = write(fd, raw.data() + off, raw.size() - off);
      if (n <= 0) break;
      off += size_t(n);
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  }
  close(fd);
  return out;
}

bool have_ipv6_loopback() {
  FILE* f = std::fopen("/proc/net/if_inet6", "r");
  if (!f) return false;
  char line[256];
  bool found = false;
  while (std::fgets(line, sizeof line, f))
    if (std::string(line).rfind("00000000000000000000000000000001", 0) == 0) found = true;
  std::fclose(f);
  return found;
}

// The status code of a raw response ("HTTP/1.1 200 OK" -> 200), 0 when none.
int status_of(const std::string& resp) {
  if (resp.size() < 12 || resp.rfind("HTTP/1.", 0) != 0) return 0;
  return std::atoi(resp.substr(9, 3).c_str());
}

std::string body_of(const std::string& resp) {
  const size_t at = resp.find("\r\n\r\n");
  return at == std::string::npos ? "" : resp.substr(at + 4);
}

TEST(ListenAddress, Parses) {
  struct Case {
    const char* in;
    const char* host;  // nullptr = error
    int port;
  } cases[] = {
      {":9501", "", 9501},
      {"127.0.0.1:9501", "127.0.0.1", 9501},
      {"0.0.0.0:80", "0.0.0.0", 80},
      {"[::1]:9501", "::1", 9501},
      {"[::]:0", "::", 0},
      {"localhost:9501", "localhost", 9501},
      {"9501", nullptr, 0},
      {"", nullptr, 0},
      {":", nullptr, 0},
      {":99999", nullptr, 0},
      {":95x1", nullptr, 0},
      {"::1:9501", nullptr, 0},
      {"a,b:1", nullptr, 0},
      {"[]:1", nullptr, 0},
      {"[1.2.3.4]:1", nullptr, 0},
      {"[::1:1", nullptr, 0},
  };
  for (const auto& c : cases) {
    auto r = parse_listen_address(c.in);
    if (c.host) {
      ASSERT_TRUE(r.ok()) << c.in << ": " << r.error().message;
      EXPECT_EQ(r->host, c.host) << c.in;
      EXPECT_EQ(r->port, c.port) << c.in;
    } else {
      EXPECT_FALSE(r.ok()) << c.in << " -> " << r->host;
      if (!r.ok()) {
        EXPECT_NE(r.error().message.find("bad listen address"), std::string::npos);
      }
    }
  }
}

// The suite shares one server.
class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Server;
    server_->handle("/metrics", [](const Request& r) {
      return Response{200, "text/plain; version=0.0.4", "m 1\nq=" + r.query + "\n"};
    });
    server_->handle("/", [](const Request&) { return Response{200, "text/html", "<h1>hi</h1>"}; });
    server_->handle("/api/v1/rules", [](const Request&) {
      return Response{200, "application/json", "{\"status\":\"success\"}"};
    });
    server_->handle("/boom", [](const Request&) -> Response { throw std::runtime_error("no"); });
    for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
      const int p = free_port();
      if (server_->start("127.0.0.1:" + std::to_string(p), 2)) port_ = p;
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(port_, 0);
    ASSERT_EQ(server_->port(), port_);
  }
  static Server* server_;
  static int port_;
};
Server* ServerTest::server_ = nullptr;
int ServerTest::port_ = 0;

TEST_F(ServerTest, ServesExactPaths) {
  const std::string m = request(port_, "GET", "/metrics?x=1");
  EXPECT_EQ(status_of(m), 200) << m;
  EXPECT_NE(m.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << m;
  EXPECT_EQ(body_of(m), "m 1\nq=x=1\n");
  const std::string root = request(port_, "GET", "/");
  EXPECT_EQ(body_of(root), "<h1>hi</h1>");
  const std::string api = request(port_, "GET", "/api/v1/rules");
  EXPECT_NE(api.find("Content-Type: application/json"), std::string::npos);
  EXPECT_EQ(body_of(api), "{\"status\":\"success\"}");
}

TEST_F(ServerTest, UnknownPathIs404AndOtherMethods405) {
  const std::string nf = request(port_, "GET", "/metricsx");
  EXPECT_EQ(status_of(nf), 404) << nf;
  const std::string sub = request(port_, "GET", "/metrics/sub");
  EXPECT_EQ(status_of(sub), 404) << sub;
  const std::string post = request(port_, "POST", "/metrics");
  EXPECT_EQ(status_of(post), 405) << post;
}

TEST_F(ServerTest, HeadHasNoBody) {
  const std::string h = request(port_, "HEAD", "/metrics");
  EXPECT_EQ(status_of(h), 200) << h;
  EXPECT_EQ(body_of(h), "");
  EXPECT_NE(h.find("Content-Length: 7"), std::string::npos) << h;  // the GET body: "m 1\nq=\n"
}

TEST_F(ServerTest, HandlerExceptionIs500) {
  const std::string b = request(port_, "GET", "/boom");
  EXPECT_EQ(status_of(b), 500) << b;
}

TEST(Server, StopIsIdempotentAndClosesThePort) {
  Server s;
  s.handle("/", [](const Request&) { return Response{200, "text/plain", "up"}; });
  const int port = free_port();
  ASSERT_TRUE(s.start("127.0.0.1:" + std::to_string(port), 1));
  EXPECT_EQ(body_of(request(port, "GET", "/")), "up");
  s.stop();
  s.stop();
  EXPECT_EQ(request(port, "GET", "/"), "");
}

TEST(Server, BusyPortIsOneLineError) {
  Listener busy;
  ASSERT_NE(busy.port, 0);
  Server s;
  s.handle("/", [](const Request&) { return Response{}; });
  const std::string addr = "127.0.0.1:" + std::to_string(busy.port);
  auto r = s.start(addr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("cannot listen on " + addr + ": Address already in use", 0), 0u)
      << r.error().message;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
}

TEST(Server, BadAddressIsAnError) {
  Server s;
  auto r = s.start("localhost");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bad listen address"), std::string::npos);
}

TEST(Server, BasicAuthAndHeaders) {
  Server s;
  s.handle("/metrics", [](const Request&) { return Response{200, "text/plain", "m 1\n"}; });
  Access a;
  // htpasswd -nbBC 4 alice wonderland
  a.users = std::make_shared<const auth::BasicAuth>(std::map<std::string, std::string>{
      {"alice", "$2y$04$Rv3nDofmpxTrAX2vcm1m5.f6WWO.hYnZITKoXzJMj680jgV7gnKmq"}});
  a.headers = {{"X-Frame-Options", "deny"}};
  s.set_access(a);
  ASSERT_TRUE(s.start("127.0.0.1:0", 2));
  const int port = s.port();
  ASSERT_NE(port, 0);
  auto get = [&](const std::string& path, const std::string& extra) {
    return talk(port, "GET " + path + " HTTP/1.0\r\nHost: x\r\n" + extra + "\r\n");
  };
  const std::string none = get("/metrics", "");
  EXPECT_EQ(status_of(none), 401) << none;
  EXPECT_NE(none.find("WWW-Authenticate: Basic realm=\"procwatch\""), std::string::npos) << none;
  EXPECT_NE(none.find("X-Frame-Options: deny"), std::string::npos) << none;
  // alice:wonderland, alice:wonderlan
  const std::string right = get("/metrics", "Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\n");
  EXPECT_EQ(status_of(right), 200) << right;
  EXPECT_EQ(body_of(right), "m 1\n");
  EXPECT_NE(right.find("X-Frame-Options: deny"), std::string::npos) << right;
  const std::string wrong = get("/metrics", "Authorization: Basic YWxpY2U6d29uZGVybGFu\r\n");
  EXPECT_EQ(status_of(wrong), 401) << wrong;
  // Every path is protected, even one that does not exist.
  EXPECT_EQ(status_of(get("/nothing", "")), 401);
  // Swapping the access policy takes effect at once.
  s.set_access(Access{});
  EXPECT_EQ(status_of(get("/metrics", "")), 200);
}

TEST(Server, PostBodiesAreBoundedAndAuthenticated) {
  Server s;
  s.handle_post(
      "/api/v1/x",
      [](const Request& r) {
        return Response{200, "text/plain",
                        r.method + " " + std::to_string(r.body.size()) + " " +
                            (r.authenticated ? "auth" : "anon") + " " +
                            (r.loopback ? "loopback" : "remote") + "\n"};
      },
      1000);
  ASSERT_TRUE(s.start("127.0.0.1:0", 2));
  const std::string url = "http://127.0.0.1:" + std::to_string(s.port()) + "/api/v1/x";
  namespace hc = procwatch::http_client;
  hc::GetOptions o;
  auto r = hc::request("POST", url, std::string(1000, 'x'), "text/plain", o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST 1000 anon loopback\n");
  // one byte over: 413, the handler is not called
  r = hc::request("POST", url, std::string(1001, 'x'), "text/plain", o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 413);
  r = hc::request("POST", url, std::string(200000, 'x'), "text/plain", o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 413);
  r = hc::get(url, o);  // a POST-only path
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 405);

  Access a;
  // htpasswd -nbBC 4 alice wonderland
  a.users = std::make_shared<const auth::BasicAuth>(std::map<std::string, std::string>{
      {"alice", "$2y$04$Rv3nDofmpxTrAX2vcm1m5.f6WWO.hYnZITKoXzJMj680jgV7gnKmq"}});
  s.set_access(a);
  r = hc::request("POST", url, "{}", "application/json", o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 401);
  o.user = "alice";
  o.password = "wonderland";
  r = hc::request("POST", url, "{}", "application/json", o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST 2 auth loopback\n");
}

TEST(Server, OversizedRequestIsRefused) {
  Server s;
  s.handle("/", [](const Request&) { return Response{200, "text/plain", "up"}; });
  ServerOptions o;
  o.threads = 1;
  o.request_memory = 8 * 1024;
  ASSERT_TRUE(s.start("127.0.0.1:0", o));
  const std::string big(64 * 1024, 'a');
  const std::string r =
      talk(s.port(), "GET / HTTP/1.0\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n");
  EXPECT_TRUE(r.empty() || status_of(r) / 100 == 4) << r.substr(0, 200);
  EXPECT_EQ(r.find(" 200 "), std::string::npos);
  // ...and the server goes on.
  EXPECT_EQ(body_of(request(s.port(), "GET", "/")), "up");
}

TEST(Server, ListensOnIpv6Loopback) {
  if (!have_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  Server s;
  s.handle("/", [](const Request&) { return Response{200, "text/plain", "v6"}; });
  ASSERT_TRUE(s.start("[::1]:0", 1));
  EXPECT_EQ(body_of(talk(s.port(), "GET / HTTP/1.0\r\n\r\n", true)), "v6");
}

TEST(Server, AllAddressesTakeIpv4AndIpv6) {
  Server s;
  s.handle("/", [](const Request&) { return Response{200, "text/plain", "any"}; });
  ASSERT_TRUE(s.start(":0", 1));
  EXPECT_EQ(body_of(request(s.port(), "GET", "/")), "any");
  if (have_ipv6_loopback()) {
    EXPECT_EQ(body_of(talk(s.port(), "GET / HTTP/1.0\r\n\r\n", true)), "any");
  }
}

TEST(Server, CheckListenAddressSaysBusy) {
  Listener busy;
  const std::string addr = "127.0.0.1:" + std::to_string(busy.port);
  auto r = check_listen_address(addr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "cannot listen on " + addr + ": Address already in use");
  EXPECT_TRUE(check_listen_address("127.0.0.1:0").ok());
}

}  // namespace
}  // namespace procwatch::http
