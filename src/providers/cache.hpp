// EnrichmentCache: provider answers cached in the catalog's SQLite file with an expiry, so a
// recommendation list is enriched once and later runs (or an offline machine) reuse it.
//
// Table enrichment_cache(provider, key, value JSON, fetched_at, expires_at), primary key
// (provider, key). get() returns only unexpired entries; put() upserts. Negative answers
// ("not on Spotify") are cached too, with a shorter TTL chosen by the caller. On a read-only
// catalog the cache only reads (entries stored earlier) and put()/purge_expired() do nothing; a
// write that fails (the file busy with an import) is skipped, since the cache only saves time.
// Borrows the Catalog's connection: same thread rules as Catalog.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "music/catalog.hpp"

namespace moodtunes::providers {

class EnrichmentCache {
 public:
  explicit EnrichmentCache(music::Catalog& catalog);
  std::optional<nlohmann::json> get(const std::string& provider, const std::string& key);
  void put(const std::string& provider, const std::string& key, const nlohmann::json& value, std::chrono::seconds ttl);
  std::size_t purge_expired();
  // For tests: the clock the cache compares against (default: system clock).
  std::chrono::system_clock::time_point (*now)() = &std::chrono::system_clock::now;

 private:
  music::Catalog& catalog_;
  bool readable_ = true;  // false: a read-only catalog without the table
};

}  // namespace moodtunes::providers
