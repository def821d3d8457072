// HTTP for the providers: a small HttpClient interface and its libcurl implementation.
//
// CurlHttpClient: TLS peer and host verification always on (the system CA store), connect
// timeout 3 s and total timeout 10 s by default, at most 3 redirects and only to http/https, a
// response size cap (32 MiB) so a broken server cannot exhaust memory. Transport failures throw
// ProviderError (kTimeout / kNetwork); any HTTP status is returned, not thrown: callers decide.
// Header names in responses are lowercased. Nothing here logs headers or bodies (they may hold
// tokens). send() is thread-safe (one curl easy handle per call).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "providers/errors.hpp"

namespace moodtunes::providers {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{10000};
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual HttpResponse send(const HttpRequest& request) = 0;
};

class CurlHttpClient : public HttpClient {
 public:
  CurlHttpClient();  // global libcurl init (once per process)
  HttpResponse send(const HttpRequest& request) override;
  std::size_t max_body_bytes = 32u << 20;
  // Caps on every request's timeouts (a request may ask for less, never more). Tests lower them.
  std::chrono::milliseconds max_connect_timeout{3000};
  std::chrono::milliseconds max_timeout{60000};
};

// Percent-encoding for query strings and form bodies (RFC 3986 unreserved kept).
std::string url_encode(std::string_view s);
// "a=1&b=2" from pairs, each side encoded.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);
// Base64 (RFC 4648), standard alphabet with padding, or base64url without padding (PKCE).
std::string base64_encode(std::string_view data, bool url_safe = false);
// The URL without its query string, for logs (queries can carry search terms, never secrets,
// but a short log line is easier to read).
std::string url_for_log(const std::string& url);

}  // namespace moodtunes::providers
