// The ONE JSON schema of moodtunes' output: faces, probabilities, mood and tracks, as the CLI
// prints them and a server sends them. Every top-level object carries "schema": kSchemaVersion;
// a change that renames or removes a field bumps it (adding a field does not).
//
//   probabilities  {"angry":0.0123, ... 7 classes in core/emotion.hpp order}, 4 decimals
//   box            {"x","y","w","h"} in image pixels
//   face           {"box","emotion","probabilities"} (+ "id","smoothed" from a tracked stream)
//   group          {"emotion","probabilities"} | null: the faces' area-weighted reading
//   mood           {"valence","arousal","description"} (+ "from": how the mood was given)
//   track          {"id","title","artist","valence","arousal","source","source_id",
//                   "deezer_id"?,"spotify_id"?,"isrc"?,"genre"?,
//                   "links":{"deezer"?,"spotify"}, "preview"?,"cover"?,"spotify_uri"?,"notes"?}
//                  in a recommendation also "position","target","distance","reason"
//   recommendation {"schema","mood","strategy","goal","seed","tracks",["session"],["note"]}
// Valence, arousal and distances have 4 decimals. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core/types.hpp>

#include "app/recommend.hpp"
#include "core/emotion.hpp"
#include "mood/mood.hpp"
#include "music/catalog.hpp"
#include "providers/enricher.hpp"
#include "vision/pipeline.hpp"

namespace moodtunes::app {

inline constexpr int kSchemaVersion = 1;

// A number as the schema writes it: 4 decimals (a float's -0.7 is -0.7, not -0.699999988).
double round4(double x);

// A top-level object: {"schema": kSchemaVersion} to add fields to.
nlohmann::json schema_object();

nlohmann::json probs_json(const EmotionProbs& probs);
nlohmann::json box_json(const cv::Rect& box);
// `tracked`: a face of a stream (adds its track "id" and "smoothed" probabilities).
nlohmann::json face_json(const vision::FaceReading& face, bool tracked = false);
nlohmann::json group_json(const std::optional<vision::GroupReading>& group);
nlohmann::json mood_json(MoodPoint mood, const std::string& from = {});

// A catalog track with its offline links (Deezer track page from its Deezer id; Spotify track
// page from its Spotify id, else a Spotify search); `extra` adds what the providers found.
nlohmann::json track_json(const music::Track& track, const providers::Enrichment* extra = nullptr);
// The tracks of a recommendation, with position, target, distance and reason; `extra` empty or
// one per track.
nlohmann::json tracks_json(const Recommendations& picks, const std::vector<providers::Enrichment>& extra = {});
// {"schema","mood","strategy","goal","seed","tracks",...}: a whole recommendation.
nlohmann::json recommendation_json(const Recommendations& picks, const std::vector<providers::Enrichment>& extra = {});

// Serialises with invalid UTF-8 (from a catalog's titles) replaced, never throwing.
std::string dump(const nlohmann::json& j, int indent = -1);

}  // namespace moodtunes::app
