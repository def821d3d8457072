#include "providers/http.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include <curl/curl.h>
#include <openssl/evp.h>

namespace moodtunes::providers {

const char* error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::kNetwork: return "network";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kRateLimited: return "rate-limited";
    case ErrorKind::kServer: return "server";
    case ErrorKind::kBadResponse: return "bad-response";
    case ErrorKind::kAuth: return "auth";
    case ErrorKind::kNotFound: return "not-found";
    case ErrorKind::kConfig: return "config";
    case ErrorKind::kRejected: return "rejected";
  }
  return "?";
}

namespace {

struct Sink {
  std::string* body;
  std::map<std::string, std::string>* headers;
  std::size_t cap;
  bool overflow = false;
};

size_t on_body(char* p, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  if (s->body->size() + size * n > s->cap) {
    s->overflow = true;
    return 0;  // aborts the transfer
  }
  s->body->append(p, size * n);
  return size * n;
}

size_t on_header(char* p, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  std::string line(p, size * n);
  if (line.rfind("HTTP/", 0) == 0) s->headers->clear();  // a redirect or 100-continue: restart
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    auto b = value.find_first_not_of(" \t");
    auto e = value.find_last_not_of(" \t\r\n");
    (*s->headers)[name] = b == std::string::npos ? "" : value.substr(b, e - b + 1);
  }
  return size * n;
}

struct EasyFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

CurlHttpClient::CurlHttpClient() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpResponse CurlHttpClient::send(const HttpRequest& req) {
  std::unique_ptr<CURL, EasyFree> curl(curl_easy_init());
  if (!curl) throw ProviderError(ErrorKind::kNetwork, "libcurl: cannot create a handle");
  HttpResponse resp;
  Sink sink{&resp.body, &resp.headers, max_body_bytes};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(req.connect_timeout, max_connect_timeout).count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(std::min(req.timeout, max_timeout).count()));
  curl_easy_setopt(h, CURLOPT_USERAGENT, "moodtunes/0.1");
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // let curl negotiate gzip
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
  if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  std::unique_ptr<curl_slist, ListFree> list;
  for (const auto& [k, v] : req.headers) {
    curl_slist* l = curl_slist_append(list.get(), (k + ": " + v).c_str());
    if (!l) throw ProviderError(ErrorKind::kNetwork, "libcurl: out of memory");
    if (!list) list.reset(l);  // later appends return the same head, already owned
  }
  // An explicit empty Expect avoids a 1 s stall on POST bodies waiting for 100-continue.
  list.reset(curl_slist_append(list.release(), "Expect:"));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());

  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    // Only the host and path in messages: never the headers or body.
    const std::string where = req.method + " " + url_for_log(req.url);
    if (rc == CURLE_OPERATION_TIMEDOUT)
      throw ProviderError(ErrorKind::kTimeout, where + ": timed out");
    if (sink.overflow)
      throw ProviderError(ErrorKind::kBadResponse, where + ": response larger than " + std::to_string(max_body_bytes) + " bytes");
    throw ProviderError(ErrorKind::kNetwork, where + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out.push_back(static_cast<char>(c));
    else { out.push_back('%'); out.push_back(kHex[c >> 4]); out.push_back(kHex[c & 15]); }
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out.push_back('&');
    out += url_encode(k) + "=" + url_encode(v);
  }
  return out;
}

std::string base64_encode(std::string_view data, bool url_safe) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  if (url_safe) {
    for (auto& c : out) c = c == '+' ? '-' : (c == '/' ? '_' : c);
    while (!out.empty() && out.back() == '=') out.pop_back();
  }
  return out;
}

std::string url_for_log(const std::string& url) { return url.substr(0, url.find('?')); }

}  // namespace moodtunes::providers
