// The body of POST /api/feedback once parsed (server/requests.hpp): one listener's signal on
// one track, with the context the page knew. The server turns it into a listeners::Event and
// stores it in the one listener store (src/listeners, listeners.sqlite beside the catalog).
//
// Shape (the contract; openapi.json "Feedback"):
//   {"listener","track_id","signal":"like"|"skip"|"dislike"|"reaction","event_id"?,
//    "mood"?:{"valence","arousal"}, "strategy"?, "reaction"?:{"valence","arousal"}}
// "mood": the mood the page showed when the track was served; "strategy": the list's strategy;
// "reaction" (required with, and only with, signal "reaction"): how the listener's smoothed
// face mood moved while the track played (end minus start), a weaker implicit signal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "mood/mood.hpp"

namespace moodtunes::server {

struct Feedback {
  std::string listener;
  std::int64_t track_id = 0;
  std::string signal;                    // "like" | "skip" | "dislike" | "reaction"
  std::optional<std::string> event_id;  // the client's id of this event (idempotency)
  std::optional<MoodPoint> mood{};
  std::optional<std::string> strategy{};
  std::optional<MoodPoint> reaction{};
};

}  // namespace moodtunes::server
