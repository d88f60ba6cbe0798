#include "export/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

std::string body_of(const std::string& resp) {
  const size_t at = resp.find("\r\n\r\n");
  return at == std::string::npos ? "" : resp.substr(at + 4);
}

TEST(ListenAddress, ToCivetwebPorts) {
  struct Case {
    const char* in;
    const char* want;  // nullptr = error
  } cases[] = {
      {":9501", "9501"},
      {"127.0.0.1:9501", "127.0.0.1:9501"},
      {"0.0.0.0:80", "0.0.0.0:80"},
      {"[::1]:9501", "[::1]:9501"},
      {"9501", nullptr},
      {"", nullptr},
      {":", nullptr},
      {":99999", nullptr},
      {":95x1", nullptr},
      {"::1:9501", nullptr},
      {"a,b:1", nullptr},
      {"[]:1", nullptr},
  };
  for (const auto& c : cases) {
    auto r = civetweb_listening_ports(c.in);
    if (c.want) {
      ASSERT_TRUE(r.ok()) << c.in << ": " << r.error().message;
      EXPECT_EQ(*r, c.want);
    } else {
      EXPECT_FALSE(r.ok()) << c.in << " -> " << *r;
    }
  }
}

// Stopping CivetWeb takes up to ~2 s (its listener polls with a fixed timeout), so the suite
// shares one server.
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
  EXPECT_EQ(m.rfind("HTTP/1.0 200", 0), 0u) << m;
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
  EXPECT_EQ(nf.rfind("HTTP/1.0 404", 0), 0u) << nf;
  const std::string sub = request(port_, "GET", "/metrics/sub");
  EXPECT_EQ(sub.rfind("HTTP/1.0 404", 0), 0u) << sub;
  const std::string post = request(port_, "POST", "/metrics");
  EXPECT_EQ(post.rfind("HTTP/1.0 405", 0), 0u) << post;
}

TEST_F(ServerTest, HeadHasNoBody) {
  const std::string h = request(port_, "HEAD", "/metrics");
  EXPECT_EQ(h.rfind("HTTP/1.0 200", 0), 0u) << h;
  EXPECT_EQ(body_of(h), "");
  EXPECT_NE(h.find("Content-Length: 7"), std::string::npos) << h;  // the GET body: "m 1\nq=\n"
}

TEST_F(ServerTest, HandlerExceptionIs500) {
  const std::string b = request(port_, "GET", "/boom");
  EXPECT_EQ(b.rfind("HTTP/1.0 500", 0), 0u) << b;
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

}  // namespace
}  // namespace procwatch::http
