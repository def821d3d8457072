#include "providers/cache.hpp"

#include <sqlite3.h>

#include "music/sqlite_util.hpp"

namespace moodtunes::providers {

namespace {
long long secs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A statement on the catalog's connection whose failures are music::CatalogError, as the
// catalog's own.
struct Stmt {
  Stmt(sqlite3* db, const char* sql) : db(db), owner(music::sqlite_prepare(db, sql)), s(owner.get()) {
    if (!s) throw music::CatalogError(std::string("SQLite: ") + sqlite3_errmsg(db));
  }
  int step() {
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) throw music::CatalogError(std::string("SQLite: ") + sqlite3_errmsg(db));
    return rc;
  }
  sqlite3* db;
  music::SqliteStatement owner;
  sqlite3_stmt* s;  // owner.get(), for the sqlite3_bind_* and sqlite3_column_* calls
};
}  // namespace

EnrichmentCache::EnrichmentCache(music::Catalog& catalog) : catalog_(catalog) {
  if (catalog_.read_only()) {
    Stmt st(catalog_.handle(), "SELECT 1 FROM sqlite_master WHERE type='table' AND name='enrichment_cache'");
    readable_ = st.step() == SQLITE_ROW;
    return;
  }
  catalog_.exec(
      "CREATE TABLE IF NOT EXISTS enrichment_cache(provider TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
      " fetched_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY(provider, key))");
}

std::optional<nlohmann::json> EnrichmentCache::get(const std::string& provider, const std::string& key) {
  if (!readable_) return std::nullopt;
  Stmt st(catalog_.handle(), "SELECT value FROM enrichment_cache WHERE provider=?1 AND key=?2 AND expires_at>?3");
  sqlite3_bind_text(st.s, 1, provider.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 2, key.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.s, 3, secs(now()));
  if (st.step() != SQLITE_ROW) return std::nullopt;
  auto j = nlohmann::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0)), nullptr, false);
  if (j.is_discarded()) return std::nullopt;  // a corrupt entry is a miss, not a crash
  return j;
}

void EnrichmentCache::put(const std::string& provider, const std::string& key, const nlohmann::json& value,
                          std::chrono::seconds ttl) {
  if (catalog_.read_only()) return;
  Stmt st(catalog_.handle(),
          "INSERT INTO enrichment_cache(provider, key, value, fetched_at, expires_at) VALUES(?1,?2,?3,?4,?5)"
          " ON CONFLICT(provider, key) DO UPDATE SET value=excluded.value, fetched_at=excluded.fetched_at,"
          " expires_at=excluded.expires_at");
  const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const long long t = secs(now());
  sqlite3_bind_text(st.s, 1, provider.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 2, key.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 3, text.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.s, 4, t);
  sqlite3_bind_int64(st.s, 5, t + ttl.count());
  try {
    st.step();
  } catch (const music::CatalogError&) {
    // Busy (an import holds the file) or full disk: the answer is still used, just not kept.
  }
}

std::size_t EnrichmentCache::purge_expired() {
  if (catalog_.read_only()) return 0;
  Stmt st(catalog_.handle(), "DELETE FROM enrichment_cache WHERE expires_at<=?1");
  sqlite3_bind_int64(st.s, 1, secs(now()));
  st.step();
  return static_cast<std::size_t>(sqlite3_changes(catalog_.handle()));
}

}  // namespace moodtunes::providers
