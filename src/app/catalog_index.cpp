#include "app/catalog_index.hpp"

#include "app/errors.hpp"

namespace moodtunes::app {

CatalogIndex::CatalogIndex(std::vector<music::IndexEntry> entries, std::vector<music::Track> tracks)
    : recommender_(std::make_shared<const music::MoodIndex>(std::move(entries))), tracks_(std::move(tracks)) {
  by_id_.reserve(tracks_.size());
  for (std::size_t i = 0; i < tracks_.size(); ++i) by_id_.emplace(tracks_[i].id, i);
}

std::shared_ptr<const CatalogIndex> CatalogIndex::load(music::Catalog& catalog) {
  try {
    std::vector<music::IndexEntry> entries = catalog.load_index_entries();
    std::vector<std::int64_t> ids;
    ids.reserve(entries.size());
    for (const auto& e : entries) ids.push_back(e.id);
    std::vector<music::Track> tracks = catalog.get_many(ids);
    return std::shared_ptr<const CatalogIndex>(new CatalogIndex(std::move(entries), std::move(tracks)));
  } catch (const music::CatalogError& e) {
    throw Unavailable(std::string("cannot read the catalog: ") + e.what());
  }
}

std::shared_ptr<const CatalogIndex> CatalogIndex::empty() {
  return std::shared_ptr<const CatalogIndex>(new CatalogIndex({}, {}));
}

const music::Track* CatalogIndex::find(std::int64_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tracks_[it->second];
}

std::vector<music::Track> CatalogIndex::tracks(std::span<const std::int64_t> ids) const {
  std::vector<music::Track> out;
  out.reserve(ids.size());
  for (auto id : ids)
    if (const auto* t = find(id)) out.push_back(*t);
  return out;
}

Recommendations recommend(const CatalogIndex& index, const ResolvedMood& mood, const RecommendOptions& options) {
  if (index.size() == 0) throw Unavailable("the catalog is empty (run `moodtunes catalog setup`)");
  Recommendations out{mood, options, {}, {}};
  out.options.session.clear();
  out.result = recommend_picks(index.recommender(), mood, options, nullptr);
  std::vector<std::int64_t> ids;
  for (const auto& item : out.result.items) ids.push_back(item.track_id);
  out.tracks = index.tracks(ids);
  return out;
}

}  // namespace moodtunes::app
