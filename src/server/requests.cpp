// The HTTP API's JSON request bodies -> validated request structs (see requests.hpp). Moved
// unchanged from server.cpp so they can be tested and fuzzed without a server.
#include "server/requests.hpp"

#include <cmath>

#include "core/emotion.hpp"
#include "music/recommender.hpp"

namespace moodtunes::server {

using nlohmann::json;

json parse_json_object(std::string_view media_type, const std::string& body) {
  // Only application/json: a cross-site form can send text/plain or form data without asking
  // (no CORS preflight), but not this type.
  if (media_type != "application/json") throw HttpError(415, "send a JSON body with Content-Type: application/json");
  if (body.size() > kMaxJsonBody) throw HttpError(413, "JSON body over " + std::to_string(kMaxJsonBody) + " bytes");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) throw HttpError(400, "malformed JSON body");
  if (!j.is_object()) throw HttpError(400, "the body must be a JSON object");
  return j;
}

std::optional<std::string> string_field(const json& j, const char* key, std::size_t max_chars, bool required) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) throw HttpError(400, std::string("\"") + key + "\" is required");
    return std::nullopt;
  }
  if (!it->is_string()) throw HttpError(400, std::string("\"") + key + "\" must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > max_chars)
    throw HttpError(400, std::string("\"") + key + "\" must have 1 to " + std::to_string(max_chars) + " characters");
  return s;
}

namespace {

// {"valence","arousal"}, both numbers within [-limit, limit]; nullopt when absent or null.
std::optional<MoodPoint> point_field(const json& j, const char* key, double limit) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  const std::string bad = std::string("\"") + key + "\" must be {\"valence\": V, \"arousal\": A} with numbers in [-" +
                          std::to_string(static_cast<int>(limit)) + ", " + std::to_string(static_cast<int>(limit)) + "]";
  if (!it->is_object()) throw HttpError(400, bad);
  const auto v = it->find("valence"), a = it->find("arousal");
  if (v == it->end() || a == it->end() || !v->is_number() || !a->is_number()) throw HttpError(400, bad);
  const double vv = v->get<double>(), aa = a->get<double>();
  if (!(std::abs(vv) <= limit && std::abs(aa) <= limit)) throw HttpError(400, bad);
  return MoodPoint{static_cast<float>(vv), static_cast<float>(aa)};
}

double number_field(const json& j, const char* key) {
  const auto& v = j.at(key);
  if (!v.is_number()) throw HttpError(400, std::string("\"") + key + "\" must be a number");
  return v.get<double>();
}

}  // namespace

MoodRequest parse_mood_request(const json& j) {
  app::MoodInput in;
  if (auto e = string_field(j, "emotion", 32, false)) in.emotion = *e;
  if (j.contains("probabilities") && !j["probabilities"].is_null()) {
    const auto& p = j["probabilities"];
    if (!p.is_object()) throw HttpError(400, "\"probabilities\" must be an object of the 7 emotions' probabilities");
    EmotionProbs probs{};
    for (const auto& [name, value] : p.items()) {
      const auto e = emotion_from_name(name);
      if (!e) throw HttpError(400, "unknown emotion \"" + name + "\" in probabilities (angry, disgust, fear, happy, neutral, sad, surprise)");
      if (!value.is_number()) throw HttpError(400, "probability of \"" + name + "\" must be a number");
      probs[static_cast<std::size_t>(*e)] = static_cast<float>(value.get<double>());
    }
    in.probs = probs;
  }
  const bool has_v = j.contains("valence") && !j["valence"].is_null();
  const bool has_a = j.contains("arousal") && !j["arousal"].is_null();
  if (has_v != has_a) throw HttpError(400, "give both \"valence\" and \"arousal\"");
  if (has_v) in.point = MoodPoint{static_cast<float>(number_field(j, "valence")), static_cast<float>(number_field(j, "arousal"))};
  if (in.emotion.empty() && !in.probs && !in.point)
    throw HttpError(400, "give the mood: \"emotion\", \"probabilities\" or \"valence\" and \"arousal\"");

  MoodRequest out;
  if (auto s = string_field(j, "strategy", 32, false)) {
    const auto strategy = music::parse_strategy(*s);
    if (!strategy) throw HttpError(400, "unknown strategy \"" + *s + "\" (match, uplift, calm, energize)");
    out.options.strategy = *strategy;
  }
  if (j.contains("n") && !j["n"].is_null()) {
    const auto& n = j["n"];
    if (!n.is_number_integer() || n.get<std::int64_t>() < 1 || n.get<std::int64_t>() > kMaxTracks)
      throw HttpError(400, "\"n\" must be an integer from 1 to " + std::to_string(kMaxTracks));
    out.options.count = static_cast<std::size_t>(n.get<std::int64_t>());
  }
  if (j.contains("seed") && !j["seed"].is_null()) {
    const auto& s = j["seed"];
    if (!s.is_number_unsigned()) throw HttpError(400, "\"seed\" must be a non-negative integer");
    out.options.seed = s.get<std::uint64_t>();
  }
  string_field(j, "listener", kMaxIdChars, false);  // validated here; the route reads it (src/listeners)
  out.mood = app::resolve_mood(in);  // InvalidInput for an unknown emotion, bad numbers
  return out;
}

Feedback parse_feedback_request(const json& body) {
  Feedback f;
  f.listener = *string_field(body, "listener", kMaxIdChars, true);
  const auto id = body.find("track_id");
  if (id == body.end() || !id->is_number_integer()) throw HttpError(400, "\"track_id\" must be an integer (a track's \"id\")");
  f.track_id = id->get<std::int64_t>();
  f.signal = *string_field(body, "signal", 16, true);
  if (f.signal != "like" && f.signal != "skip" && f.signal != "dislike" && f.signal != "reaction")
    throw HttpError(400, "unknown signal \"" + f.signal + "\" (like, skip, dislike, reaction)");
  f.event_id = string_field(body, "event_id", kMaxIdChars, false);
  // The context the page knew (optional) and, for a reaction, the face's mood change.
  f.mood = point_field(body, "mood", 1.0);
  if (auto s = string_field(body, "strategy", 32, false)) {
    if (!music::parse_strategy(*s)) throw HttpError(400, "unknown strategy \"" + *s + "\" (match, uplift, calm, energize)");
    f.strategy = *s;
  }
  f.reaction = point_field(body, "reaction", 2.0);
  if ((f.signal == "reaction") != f.reaction.has_value())
    throw HttpError(400, "\"reaction\" ({\"valence\",\"arousal\"}: the mood change) goes with signal \"reaction\" only, and it needs one");
  return f;
}

PlaylistRequest parse_playlist_request(const json& body) {
  PlaylistRequest out;
  out.title = string_field(body, "title", 100, false);
  if (body.contains("public") && !body["public"].is_null()) {
    if (!body["public"].is_boolean()) throw HttpError(400, "\"public\" must be true or false");
    out.is_public = body["public"].get<bool>();
  }
  if (body.contains("track_ids")) {
    const auto& ids = body["track_ids"];
    if (!ids.is_array() || ids.empty() || ids.size() > kMaxPlaylistTracks)
      throw HttpError(400, "\"track_ids\" must be an array of 1 to " + std::to_string(kMaxPlaylistTracks) + " track ids");
    std::vector<std::int64_t> wanted;
    for (const auto& v : ids) {
      if (!v.is_number_integer()) throw HttpError(400, "\"track_ids\" must hold integers");
      wanted.push_back(v.get<std::int64_t>());
    }
    out.track_ids = std::move(wanted);
  } else {
    out.mood = parse_mood_request(body);
  }
  return out;
}

}  // namespace moodtunes::server
