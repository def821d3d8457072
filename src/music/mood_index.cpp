#include "music/mood_index.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace moodtunes::music {

MoodIndex::MoodIndex(std::vector<IndexEntry> entries) {
  if (entries.size() >= std::numeric_limits<std::uint32_t>::max())
    throw std::invalid_argument("MoodIndex: too many entries");
  const double n = static_cast<double>(entries.size());
  // ~4 entries per cell on average: small enough to scan, big enough to keep cells few.
  g_ = std::clamp(static_cast<int>(std::lround(std::sqrt(n / 4.0))), 1, 1024);
  cell_ = 2.0f / static_cast<float>(g_);
  const std::size_t cells = static_cast<std::size_t>(g_) * static_cast<std::size_t>(g_);
  std::vector<std::uint32_t> cell_ids(entries.size());
  start_.assign(cells + 1, 0);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (!std::isfinite(e.valence) || !std::isfinite(e.arousal))
      throw std::invalid_argument("MoodIndex: track " + std::to_string(e.id) + " has a non-finite position");
    cell_ids[i] = static_cast<std::uint32_t>(cell_of(e.arousal) * g_ + cell_of(e.valence));
    ++start_[cell_ids[i] + 1];
  }
  for (std::size_t c = 0; c < cells; ++c) start_[c + 1] += start_[c];
  entries_.resize(entries.size());
  std::vector<std::uint32_t> fill(start_.begin(), start_.end() - 1);
  for (std::size_t i = 0; i < entries.size(); ++i) entries_[fill[cell_ids[i]]++] = entries[i];
}

int MoodIndex::cell_of(float x) const {
  const int c = static_cast<int>(std::floor((x + 1.0f) / cell_));
  return std::clamp(c, 0, g_ - 1);
}

MoodIndex::NearestStream::NearestStream(const MoodIndex& index, MoodPoint q)
    : ix_(index), qx_(q.valence), qy_(q.arousal) {
  if (!std::isfinite(qx_) || !std::isfinite(qy_)) throw std::invalid_argument("mood point is not finite");
  cx_ = ix_.cell_of(qx_);
  cy_ = ix_.cell_of(qy_);
}

void MoodIndex::NearestStream::add_cell(int x, int y) {
  if (x < 0 || y < 0 || x >= ix_.g_ || y >= ix_.g_) return;
  const std::size_t c = static_cast<std::size_t>(y) * static_cast<std::size_t>(ix_.g_) + static_cast<std::size_t>(x);
  for (std::uint32_t i = ix_.start_[c]; i < ix_.start_[c + 1]; ++i) {
    const float dx = ix_.entries_[i].valence - qx_, dy = ix_.entries_[i].arousal - qy_;
    heap_.push({dx * dx + dy * dy, i});
  }
}

void MoodIndex::NearestStream::add_ring() {
  const int r = ring_;
  if (r == 0) {
    add_cell(cx_, cy_);
  } else {
    for (int x = cx_ - r; x <= cx_ + r; ++x) { add_cell(x, cy_ - r); add_cell(x, cy_ + r); }
    for (int y = cy_ - r + 1; y <= cy_ + r - 1; ++y) { add_cell(cx_ - r, y); add_cell(cx_ + r, y); }
  }
  ++ring_;
  // The visited block [c-r, c+r] now spans the whole grid: nothing is left unvisited.
  if (cx_ - r <= 0 && cy_ - r <= 0 && cx_ + r >= ix_.g_ - 1 && cy_ + r >= ix_.g_ - 1) covered_ = true;
}

float MoodIndex::NearestStream::bound() const {
  if (covered_) return std::numeric_limits<float>::infinity();
  // Rings 0..ring_-1 are visited: the block of cells [c-(ring_-1), c+(ring_-1)]. An unvisited
  // entry lies outside it, so at least as far as the nearest block side that still has grid
  // beyond it (a side at the grid's edge has nothing behind it).
  const int r = ring_ - 1;
  const float inf = std::numeric_limits<float>::infinity();
  const float left = cx_ - r > 0 ? qx_ - (-1.0f + static_cast<float>(cx_ - r) * ix_.cell_) : inf;
  const float right = cx_ + r < ix_.g_ - 1 ? (-1.0f + static_cast<float>(cx_ + r + 1) * ix_.cell_) - qx_ : inf;
  const float down = cy_ - r > 0 ? qy_ - (-1.0f + static_cast<float>(cy_ - r) * ix_.cell_) : inf;
  const float up = cy_ + r < ix_.g_ - 1 ? (-1.0f + static_cast<float>(cy_ + r + 1) * ix_.cell_) - qy_ : inf;
  return std::max(0.0f, std::min({left, right, down, up}));
}

bool MoodIndex::NearestStream::next(std::size_t& entry, float& distance) {
  for (;;) {
    if (!heap_.empty()) {
      const float b = bound();
      if (heap_.top().d2 <= b * b) {
        entry = heap_.top().i;
        distance = std::sqrt(heap_.top().d2);
        heap_.pop();
        return true;
      }
    }
    if (covered_) return false;
    add_ring();
  }
}

}  // namespace moodtunes::music
