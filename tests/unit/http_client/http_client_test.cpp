// The one HTTP client against the project's own server (libmicrohttpd): status, body, content
// type, basic auth (URL credentials and options), errors as one line, size bound, schemes.
#include "http_client/http_client.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "export/basic_auth.h"
#include "export/http_server.h"

namespace procwatch::http_client {
namespace {

// htpasswd -nbBC 4 alice wonderland
constexpr const char* kHash4 = "$2y$04$Rv3nDofmpxTrAX2vcm1m5.f6WWO.hYnZITKoXzJMj680jgV7gnKmq";

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.handle("/text", [](const http::Request&) {
      return http::Response{200, "text/plain; charset=utf-8", "hello\n"};
    });
    server_.handle("/big", [](const http::Request&) {
      return http::Response{200, "text/plain", std::string(100000, 'x')};
    });
    ASSERT_TRUE(server_.start("127.0.0.1:0", 2));
    base_ = "http://127.0.0.1:" + std::to_string(server_.port());
  }
  void TearDown() override { server_.stop(); }

  http::Server server_;
  std::string base_;
};

TEST_F(HttpClientTest, GetsBodyStatusAndContentType) {
  auto r = get(base_ + "/text");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello\n");
  EXPECT_EQ(r->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r->status_line.rfind("HTTP/1.1 200", 0), 0u) << r->status_line;
}

TEST_F(HttpClientTest, OtherStatusesAreResponsesNotErrors) {
  auto r = get(base_ + "/nothing-here");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->status_line.find('\n'), std::string::npos);
}

TEST_F(HttpClientTest, BasicAuthFromTheUrlOrTheOptions) {
  http::Access access;
  access.users = std::make_shared<const auth::BasicAuth>(
      std::map<std::string, std::string>{{"alice", kHash4}});
  server_.set_access(access);
  auto anonymous = get(base_ + "/text");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);

  auto in_url = get("http://alice:wonderland@127.0.0.1:" + std::to_string(server_.port()) + "/text");
  ASSERT_TRUE(in_url) << in_url.error().message;
  EXPECT_EQ(in_url->status, 200);
  EXPECT_EQ(in_url->body, "hello\n");

  GetOptions o;
  o.user = "alice";
  o.password = "wonderland";
  auto by_option = get(base_ + "/text", o);
  ASSERT_TRUE(by_option);
  EXPECT_EQ(by_option->status, 200);
  o.password = "wrong";
  EXPECT_EQ(get(base_ + "/text", o)->status, 401);
}

TEST_F(HttpClientTest, TooLargeIsAnError) {
  GetOptions o;
  o.max_bytes = 1000;
  auto r = get(base_ + "/big", o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("larger than 1000 bytes"), std::string::npos)
      << r.error().message;
  o.max_bytes = 100000;
  EXPECT_TRUE(get(base_ + "/big", o));
}

TEST(HttpClient, ErrorsAreOneLine) {
  // A port nobody listens on (bound, then closed by the server's own check).
  http::Server s;
  ASSERT_TRUE(s.start("127.0.0.1:0", 1));
  const int port = s.port();
  s.stop();
  for (const std::string& url : {"http://127.0.0.1:" + std::to_string(port) + "/",
                                std::string("ftp://127.0.0.1/x"), std::string("file:///etc/passwd"),
                                std::string("http://no-such-host.invalid/")}) {
    GetOptions o;
    o.timeout_ms = 5000;
    auto r = get(url, o);
    ASSERT_FALSE(r) << url;
    EXPECT_FALSE(r.error().message.empty()) << url;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << url;
  }
}

TEST(HttpClient, RedactUrlHidesThePasswordOnly) {
  EXPECT_EQ(redact_url("https://u:secret@h:9501/x"), "https://u:***@h:9501/x");
  EXPECT_EQ(redact_url("http://h:9501/api"), "http://h:9501/api");
  EXPECT_EQ(redact_url("http://u@h/"), "http://u@h/");
  EXPECT_EQ(redact_url("http://h/a@b:c"), "http://h/a@b:c");
  EXPECT_EQ(redact_url("http://[::1]:9501/"), "http://[::1]:9501/");
  EXPECT_EQ(redact_url("not a url"), "not a url");
}

}  // namespace
}  // namespace procwatch::http_client
