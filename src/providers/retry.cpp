#include "providers/retry.hpp"

#include <charconv>
#include <optional>
#include <thread>

namespace moodtunes::providers {

namespace {
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& v) {
  long long s = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
  if (ec != std::errc() || p != v.data() + v.size() || s < 0) return std::nullopt;
  if (s > 86400) s = 86400;
  return std::chrono::milliseconds(s * 1000);
}
}  // namespace

HttpResponse send_with_retry(HttpClient& http, const HttpRequest& request, const RetryPolicy& policy) {
  auto sleep = policy.sleep ? policy.sleep : [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  const std::string where = request.method + " " + url_for_log(request.url);
  auto backoff = policy.backoff;
  const int attempts = policy.max_attempts < 1 ? 1 : policy.max_attempts;
  for (int attempt = 1;; ++attempt) {
    const bool last = attempt >= attempts;
    HttpResponse r;
    try {
      r = http.send(request);
    } catch (const ProviderError& e) {
      if (e.kind != ErrorKind::kNetwork || last) throw;
      sleep(backoff);
      backoff *= 2;
      continue;
    }
    if (r.status == 429) {
      const auto wait = parse_retry_after(r.header("retry-after")).value_or(backoff);
      if (wait > policy.max_retry_after)
        throw ProviderError(ErrorKind::kRateLimited, where + ": rate limited (HTTP 429, Retry-After " +
                                                         std::to_string(wait.count() / 1000) + " s: not waiting)");
      if (last) throw ProviderError(ErrorKind::kRateLimited, where + ": rate limited (HTTP 429) after " +
                                                                 std::to_string(attempts) + " attempts");
      sleep(wait);
      continue;
    }
    if (r.status >= 500) {
      if (last)
        throw ProviderError(ErrorKind::kServer, where + ": HTTP " + std::to_string(r.status) + " after " +
                                                    std::to_string(attempts) + " attempts");
      sleep(backoff);
      backoff *= 2;
      continue;
    }
    return r;
  }
}

}  // namespace moodtunes::providers
