// A catalog loaded once and shared read-only: every track in memory and the recommender's mood
// index built over them, for a long-running front end (the server) that recommends on every
// request without touching SQLite.
//
// CatalogIndex::load() reads the catalog's tracks once (Unavailable when it cannot be read);
// an empty catalog gives an empty index (size() 0), which a caller reports as "no catalog".
// recommend(index, ...) is app::recommend() without session history: the same request, the
// same recommender and the same output, the tracks taken from memory.
// Thread-safety: immutable after load(); any number of threads may call its const members and
// recommend() concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "app/recommend.hpp"
#include "music/catalog.hpp"
#include "music/recommender.hpp"

namespace moodtunes::app {

class CatalogIndex {
 public:
  static std::shared_ptr<const CatalogIndex> load(music::Catalog& catalog);
  // An index with no tracks (a missing catalog).
  static std::shared_ptr<const CatalogIndex> empty();

  std::size_t size() const { return tracks_.size(); }
  const music::Recommender& recommender() const { return recommender_; }
  // nullptr for an id the catalog did not hold.
  const music::Track* find(std::int64_t id) const;
  // The tracks with these ids, in order; unknown ids are left out.
  std::vector<music::Track> tracks(std::span<const std::int64_t> ids) const;

 private:
  CatalogIndex(std::vector<music::IndexEntry> entries, std::vector<music::Track> tracks);
  music::Recommender recommender_;
  std::vector<music::Track> tracks_;
  std::unordered_map<std::int64_t, std::size_t> by_id_;
};

// Unavailable when the index is empty. No session history: the picks depend on the mood, the
// options (strategy, count, seed, artist repeats) and the catalog only; options.session is
// ignored.
Recommendations recommend(const CatalogIndex& index, const ResolvedMood& mood, const RecommendOptions& options);

}  // namespace moodtunes::app
