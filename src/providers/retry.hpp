// RetryPolicy and send_with_retry(): how the providers survive rate limits and flaky servers
// without hanging.
//
//   429: wait Retry-After seconds (absent or not a number: `backoff`) and retry, but only if
//        the wait is <= max_retry_after; a longer wait gives up at once (kRateLimited) so the
//        caller degrades to the offline result instead of blocking the listener.
//   5xx: retry with exponential backoff (backoff, 2*backoff, ...); after max_attempts ->
//        ProviderError kServer.
//   connection failures (kNetwork): retried like 5xx; timeouts are not retried (each already
//        cost the full timeout).
// Any other status is returned to the caller. The worst-case time is bounded by
// max_attempts * (request timeout + max_retry_after). `sleep` is injectable for tests.
// Stateless; thread-safe.
#pragma once

#include <chrono>
#include <functional>

#include "providers/http.hpp"

namespace moodtunes::providers {

struct RetryPolicy {
  int max_attempts = 3;
  std::chrono::milliseconds max_retry_after{3000};
  std::chrono::milliseconds backoff{250};
  std::function<void(std::chrono::milliseconds)> sleep;  // default: std::this_thread::sleep_for
};

HttpResponse send_with_retry(HttpClient& http, const HttpRequest& request, const RetryPolicy& policy);

}  // namespace moodtunes::providers
