#include "app/json.hpp"

#include <fmt/format.h>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace moodtunes::app {

using nlohmann::json;

double round4(double x) { return std::round(x * 1e4) / 1e4; }

namespace {
double r4(double x) { return round4(x); }

std::string spotify_search_link(const music::Track& t) {
  std::string out;
  for (unsigned char c : t.artist + " " + t.title) {
    if (std::isalnum(c)) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return "https://open.spotify.com/search/" + out;
}
}  // namespace

json schema_object() { return {{"schema", kSchemaVersion}}; }

json probs_json(const EmotionProbs& p) {
  json j = json::object();
  for (std::size_t c = 0; c < kNumEmotions; ++c) j[std::string(kEmotionNames[c])] = r4(p[c]);
  return j;
}

json box_json(const cv::Rect& r) { return {{"x", r.x}, {"y", r.y}, {"w", r.width}, {"h", r.height}}; }

json face_json(const vision::FaceReading& f, bool tracked) {
  json j = json::object();
  if (tracked) j["id"] = f.track_id;
  j["box"] = box_json(f.box);
  j["emotion"] = emotion_name(f.emotion);
  j["probabilities"] = probs_json(f.probs);
  if (tracked) j["smoothed"] = probs_json(f.smoothed);
  return j;
}

json group_json(const std::optional<vision::GroupReading>& g) {
  if (!g) return nullptr;
  return {{"emotion", emotion_name(g->emotion)}, {"probabilities", probs_json(g->probs)}};
}

json mood_json(MoodPoint m, const std::string& from) {
  json j = {{"valence", r4(m.valence)}, {"arousal", r4(m.arousal)}, {"description", describe_mood(m)}};
  if (!from.empty()) j["from"] = from;
  return j;
}

json track_json(const music::Track& t, const providers::Enrichment* extra) {
  json j = {{"id", t.id}, {"title", t.title}, {"artist", t.artist}, {"valence", r4(t.valence)}, {"arousal", r4(t.arousal)},
            {"source", t.source}, {"source_id", t.source_id}};
  if (t.deezer_id) j["deezer_id"] = *t.deezer_id;
  if (!t.spotify_id.empty()) j["spotify_id"] = t.spotify_id;
  if (!t.isrc.empty()) j["isrc"] = t.isrc;
  if (!t.genre.empty()) j["genre"] = t.genre;
  json links = json::object();
  if (t.deezer_id) links["deezer"] = "https://www.deezer.com/track/" + std::to_string(*t.deezer_id);
  links["spotify"] = t.spotify_id.empty() ? spotify_search_link(t) : "https://open.spotify.com/track/" + t.spotify_id;
  if (extra) {
    if (!extra->deezer_link.empty()) links["deezer"] = extra->deezer_link;
    if (!extra->spotify_url.empty()) links["spotify"] = extra->spotify_url;
    if (!extra->preview_url.empty()) j["preview"] = extra->preview_url;
    if (!extra->cover_url.empty()) j["cover"] = extra->cover_url;
    if (!extra->spotify_id.empty()) j["spotify_id"] = extra->spotify_id;
    if (!extra->spotify_uri.empty()) j["spotify_uri"] = extra->spotify_uri;
    if (!extra->notes.empty()) j["notes"] = extra->notes;
  }
  j["links"] = std::move(links);
  return j;
}

json tracks_json(const Recommendations& p, const std::vector<providers::Enrichment>& extra) {
  json items = json::array();
  for (std::size_t i = 0; i < p.tracks.size(); ++i) {
    json j = track_json(p.tracks[i], i < extra.size() ? &extra[i] : nullptr);
    const auto& item = p.result.items[i];
    j["position"] = item.step;
    j["target"] = {{"valence", r4(item.target.valence)}, {"arousal", r4(item.target.arousal)}};
    j["distance"] = r4(item.distance);
    j["reason"] = item.reason;
    items.push_back(std::move(j));
  }
  return items;
}

json recommendation_json(const Recommendations& p, const std::vector<providers::Enrichment>& extra) {
  const auto& r = p.result;
  json out = schema_object();
  out["mood"] = mood_json(r.mood, p.mood.from);
  out["strategy"] = music::strategy_name(r.strategy);
  out["goal"] = {{"valence", r4(r.goal.valence)}, {"arousal", r4(r.goal.arousal)}};
  out["seed"] = p.options.seed;
  out["tracks"] = tracks_json(p, extra);
  if (!p.options.session.empty()) out["session"] = p.options.session;
  if (!r.note.empty()) out["note"] = r.note;
  return out;
}

std::string dump(const json& j, int indent) { return j.dump(indent, ' ', false, json::error_handler_t::replace); }

}  // namespace moodtunes::app
