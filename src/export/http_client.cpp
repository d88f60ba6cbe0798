#include "export/http_client.h"

#include <curl/curl.h>

#include <mutex>

#include "core/text.h"

namespace procwatch::http {

namespace {

struct Sink {
  std::string* out;
  size_t max;
  bool too_large = false;
};

size_t on_data(char* data, size_t size, size_t n, void* cls) {
  auto* sink = static_cast<Sink*>(cls);
  if (sink->out->size() + size * n > sink->max) {
    sink->too_large = true;
    return 0;  // aborts the transfer
  }
  sink->out->append(data, size * n);
  return size * n;
}

}  // namespace

Result<ClientResponse> request(const ClientRequest& req) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return make_error(escape_control(req.url) + ": cannot start libcurl");
  ClientResponse resp;
  Sink sink{&resp.body, req.max_response};
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, req.timeout_s);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "procwatch");
  if (!req.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, req.ca_file.c_str());
  if (!req.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, long(CURLAUTH_BASIC));
    curl_easy_setopt(curl, CURLOPT_USERNAME, req.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, req.password.c_str());
  }
  if (req.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(req.body.size()));
    headers = curl_slist_append(headers, ("Content-Type: " + req.content_type).c_str());
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (sink.too_large)
    return make_error(escape_control(req.url) + ": response larger than " +
                      std::to_string(req.max_response) + " bytes");
  if (rc != CURLE_OK)
    return make_error(escape_control(req.url) + ": " +
                      escape_control(errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  return resp;
}

}  // namespace procwatch::http
