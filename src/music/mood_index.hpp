// MoodIndex: an immutable spatial index over tracks' (valence, arousal) for nearest-neighbour
// queries, so the recommender answers in milliseconds on 10^6 tracks.
//
// Structure: a uniform G x G grid over [-1, 1]^2 (G ~ sqrt(n / 4), at most 1024), entries stored
// contiguously cell by cell (CSR layout). NearestStream walks square rings of cells outward
// from the query and yields entries in exact increasing Euclidean distance: an entry is emitted
// only once every unvisited cell is provably farther away. The caller filters (served tracks,
// artists already used) and stops when it has enough, so cost grows with what is skipped, not
// with the catalog size. Build: O(n); query: O(k + cells visited) expected.
//
// Thread-safety: the index is immutable after construction; any number of NearestStreams may
// read it concurrently. A NearestStream itself is single-threaded.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

#include "music/catalog.hpp"
#include "mood/mood.hpp"

namespace moodtunes::music {

class MoodIndex {
 public:
  explicit MoodIndex(std::vector<IndexEntry> entries);
  std::size_t size() const { return entries_.size(); }
  const IndexEntry& entry(std::size_t i) const { return entries_[i]; }
  int grid_size() const { return g_; }

  class NearestStream {
   public:
    NearestStream(const MoodIndex& index, MoodPoint query);
    // Next entry by increasing distance; false when the index is exhausted.
    bool next(std::size_t& entry, float& distance);

   private:
    struct Cand {
      float d2;
      std::uint32_t i;
      bool operator>(const Cand& o) const { return d2 > o.d2 || (d2 == o.d2 && i > o.i); }
    };
    const MoodIndex& ix_;
    float qx_, qy_;
    int cx_, cy_;
    int ring_ = 0;
    bool covered_ = false;
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap_;
    void add_cell(int x, int y);
    void add_ring();
    float bound() const;  // distance below which no unvisited entry can lie
  };

 private:
  std::vector<IndexEntry> entries_;     // sorted by cell
  std::vector<std::uint32_t> start_;    // CSR offsets, g*g+1
  int g_ = 1;
  float cell_ = 2.0f;
  int cell_of(float x) const;
  friend class NearestStream;
};

}  // namespace moodtunes::music
