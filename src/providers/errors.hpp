// ProviderError: every way an online provider can fail, as one exception type with a kind, so
// callers can degrade to the offline result with one catch. Messages never contain secrets.
#pragma once

#include <stdexcept>
#include <string>

namespace moodtunes::providers {

enum class ErrorKind {
  kNetwork,      // DNS, connect, TLS, reset
  kTimeout,      // connect or total timeout
  kRateLimited,  // HTTP 429 (Retry-After too long or retries used up), Deezer quota (code 4)
  kServer,       // HTTP 5xx after retries
  kBadResponse,  // malformed JSON or a shape we do not understand
  kAuth,         // 401/403, invalid client, expired/revoked refresh token
  kNotFound,     // 404, Deezer "no data" (code 800)
  kConfig,       // missing credentials, not logged in
  kRejected,     // other 4xx (bad request)
};

const char* error_kind_name(ErrorKind k);

struct ProviderError : std::runtime_error {
  ProviderError(ErrorKind k, const std::string& what) : std::runtime_error(what), kind(k) {}
  ErrorKind kind;
};

}  // namespace moodtunes::providers
