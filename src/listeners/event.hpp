// A listener's feedback event and the storage interface every store implements.
//
// Event: one signal of one listener on one track, with the context it was given in (the mood
// the face showed or the request named, the strategy) and a snapshot of the track (its
// valence/arousal and artist, so what a listener taught survives a catalog re-import and an
// export is readable on its own). Listener ids are opaque strings chosen by the client.
//
// ListenerStore: add() is idempotent per (listener, event_id): a retried event is stored once
// and add() returns false for the repeat; an event without an event_id is always stored.
// events() returns a listener's events oldest first (the newest `limit` when limit > 0).
// forget() erases every event of a listener and returns how many; afterwards nothing of that
// listener is left in the store's files (implementations must not leave it in free pages or a
// journal). Failure: every member throws app::Unavailable when the storage cannot be used.
// Thread-safety: implementations are safe to call from any number of threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mood/mood.hpp"

namespace moodtunes::listeners {

enum class Signal { kLike, kSkip, kDislike, kReaction };
std::optional<Signal> parse_signal(std::string_view name);
std::string_view signal_name(Signal s);

struct Event {
  std::string listener;
  std::int64_t track_id = 0;
  Signal signal = Signal::kLike;
  std::string event_id{};               // empty: none given (then not deduplicated)
  std::optional<MoodPoint> mood{};      // the mood of the face / request when the track was served
  std::string strategy{};               // match | uplift | calm | energize; empty: unknown
  std::optional<MoodPoint> track{};     // the track's valence/arousal when the event was stored
  std::string artist{};                 // the track's artist; empty: unknown
  std::optional<MoodPoint> reaction{};  // kReaction: how the face's mood moved during the track
  std::int64_t created_at = 0;          // unix seconds
  std::int64_t seq = 0;                 // the store's order (assigned on add; 0 before)
};

class ListenerStore {
 public:
  virtual ~ListenerStore() = default;
  // false: this listener's event_id was stored before (nothing written).
  virtual bool add(const Event& event) = 0;
  // Many events in one transaction (imports, benchmarks); returns how many were new. All or
  // none are stored when it throws.
  virtual std::size_t add_many(const std::vector<Event>& events) = 0;
  virtual std::vector<Event> events(const std::string& listener, std::size_t limit = 0) = 0;
  virtual std::size_t count(const std::string& listener) = 0;
  virtual std::size_t total() = 0;  // every listener's events
  virtual std::size_t forget(const std::string& listener) = 0;
  virtual std::string describe() const = 0;  // where it stores, for logs ("sqlite FILE")
};

}  // namespace moodtunes::listeners
