// The HTTP API's JSON request bodies, parsed and validated without HTTP: a body (and its
// Content-Type) becomes a JSON object, and an object becomes the request struct of its route
// (/api/recommend, /api/feedback, /api/playlist), or HttpError with the status and the message
// the client gets. No cpp-httplib here, so the parsing is testable and fuzzable on its own
// (fuzz/fuzz_requests.cpp); server.cpp reads the body, calls these, then does the route's work.
// Contract: any bytes in, a struct or HttpError (400, 413, 415) / app::InvalidInput (400) out.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/recommend.hpp"
#include "server/feedback.hpp"

namespace moodtunes::server {

constexpr int kMaxTracks = 50;
constexpr std::size_t kMaxPlaylistTracks = 100;
constexpr std::size_t kMaxIdChars = 128;
constexpr std::size_t kMaxJsonBody = 64u << 10;  // a mood or a feedback event is a few hundred bytes

// An error answered as {"error": message} with `status` (and Retry-After when set).
struct HttpError : std::runtime_error {
  HttpError(int status, const std::string& message, std::string retry_after = {})
      : std::runtime_error(message), status(status), retry_after(std::move(retry_after)) {}
  int status;
  std::string retry_after;
};

// `media_type`: the Content-Type lowercased without parameters. Only application/json (415
// otherwise), at most kMaxJsonBody bytes (413), a JSON object (400).
nlohmann::json parse_json_object(std::string_view media_type, const std::string& body);

// A string member: nullopt when absent or null (400 when `required`); 400 when not a string
// or not 1..max_chars long.
std::optional<std::string> string_field(const nlohmann::json& j, const char* key, std::size_t max_chars, bool required);

// A mood and recommendation options, as /api/recommend and /api/playlist take them.
struct MoodRequest {
  app::ResolvedMood mood;
  app::RecommendOptions options;
};
MoodRequest parse_mood_request(const nlohmann::json& j);

// /api/feedback: {"listener","track_id","signal","event_id"?}.
Feedback parse_feedback_request(const nlohmann::json& j);

// /api/playlist: {"title"?,"public"?} and either "track_ids" or a mood request.
struct PlaylistRequest {
  std::optional<std::string> title;
  bool is_public = false;
  std::optional<std::vector<std::int64_t>> track_ids;  // set: these tracks; else `mood`
  std::optional<MoodRequest> mood;
};
PlaylistRequest parse_playlist_request(const nlohmann::json& j);

}  // namespace moodtunes::server
