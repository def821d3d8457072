// DeezerClient: the public Deezer API (no key) for one thing: a track by Deezer id ->
// 30 s preview URL, album cover, link, ISRC.
//
// GET {base}/track/{id} returns the track object {id, title, link, preview, isrc, duration,
// artist{name}, album{title, cover_medium, cover_big, ...}}. Deezer reports errors as HTTP 200
// with {"error":{"type","message","code"}}; those are errors here: code 4 (quota) ->
// kRateLimited, 800 (no data) -> kNotFound, anything else -> kRejected. Malformed JSON or a
// missing id -> kBadResponse. Transport, 429 and 5xx handling: retry.hpp.
// Borrows the HttpClient; thread-safe if the HttpClient is.
#pragma once

#include <cstdint>
#include <string>

#include "providers/http.hpp"
#include "providers/retry.hpp"

namespace moodtunes::providers {

struct DeezerTrack {
  std::int64_t id = 0;
  std::string title, artist, link, preview_url, cover_url, isrc;
  int duration_s = 0;
};

class DeezerClient {
 public:
  explicit DeezerClient(HttpClient& http, std::string base_url = "https://api.deezer.com", RetryPolicy retry = {});
  DeezerTrack track(std::int64_t deezer_id);

 private:
  HttpClient& http_;
  std::string base_;
  RetryPolicy retry_;
};

}  // namespace moodtunes::providers
