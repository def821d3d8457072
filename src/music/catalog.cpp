#include "music/catalog.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <unordered_map>

#include <sqlite3.h>

namespace moodtunes::music {

namespace fs = std::filesystem;

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS tracks(
  id           INTEGER PRIMARY KEY,
  source       TEXT NOT NULL,
  source_id    TEXT NOT NULL,
  title        TEXT NOT NULL,
  artist       TEXT NOT NULL,
  valence      REAL NOT NULL CHECK(valence BETWEEN -1 AND 1),
  arousal      REAL NOT NULL CHECK(arousal BETWEEN -1 AND 1),
  raw_valence  REAL,
  raw_arousal  REAL,
  raw_scale    TEXT NOT NULL DEFAULT '',
  deezer_id    INTEGER,
  spotify_id   TEXT NOT NULL DEFAULT '',
  isrc         TEXT NOT NULL DEFAULT '',
  genre        TEXT NOT NULL DEFAULT '',
  msd_track_id TEXT NOT NULL DEFAULT '',
  UNIQUE(source, source_id));
CREATE INDEX IF NOT EXISTS tracks_artist ON tracks(artist);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS session_history(
  session   TEXT NOT NULL,
  track_id  INTEGER NOT NULL,
  served_at INTEGER NOT NULL DEFAULT (strftime('%s','now')),
  PRIMARY KEY(session, track_id));
)sql";

// Prepared statement with RAII finalize.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      throw CatalogError(std::string("SQLite: ") + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() { return s_; }
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw CatalogError(std::string("SQLite: ") + sqlite3_errmsg(db_));
  }
  void reset() { sqlite3_reset(s_); sqlite3_clear_bindings(s_); }
  void bind(int i, std::string_view v) { sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, double v) { sqlite3_bind_double(s_, i, v); }
  void bind_null(int i) { sqlite3_bind_null(s_, i); }
  std::string text(int i) {
    auto* p = sqlite3_column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }
  std::int64_t i64(int i) { return sqlite3_column_int64(s_, i); }
  double dbl(int i) { return sqlite3_column_double(s_, i); }
  bool is_null(int i) { return sqlite3_column_type(s_, i) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

constexpr const char* kTrackColumns =
    "id, source, source_id, title, artist, valence, arousal, raw_valence, raw_arousal, raw_scale, "
    "deezer_id, spotify_id, isrc, genre, msd_track_id";

Track read_track(Stmt& s) {
  Track t;
  t.id = s.i64(0);
  t.source = s.text(1);
  t.source_id = s.text(2);
  t.title = s.text(3);
  t.artist = s.text(4);
  t.valence = static_cast<float>(s.dbl(5));
  t.arousal = static_cast<float>(s.dbl(6));
  if (!s.is_null(7)) t.raw_valence = s.dbl(7);
  if (!s.is_null(8)) t.raw_arousal = s.dbl(8);
  t.raw_scale = s.text(9);
  if (!s.is_null(10)) t.deezer_id = s.i64(10);
  t.spotify_id = s.text(11);
  t.isrc = s.text(12);
  t.genre = s.text(13);
  t.msd_track_id = s.text(14);
  return t;
}

}  // namespace

std::string fold_key(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (unsigned char c : s) {
    if (std::isspace(c)) { space = !out.empty(); continue; }
    if (space) { out.push_back(' '); space = false; }
    out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

fs::path default_catalog_path() {
  if (const char* p = std::getenv("MOODTUNES_CATALOG"); p && *p) return p;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return fs::path(x) / "moodtunes" / "catalog.sqlite";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".local" / "share" / "moodtunes" / "catalog.sqlite";
  throw CatalogError("cannot find a place for the catalog: set MOODTUNES_CATALOG or pass --catalog");
}

Catalog::Catalog(const fs::path& file, OpenMode mode) : path_(file), read_only_(mode == OpenMode::kReadOnly) {
  std::error_code ec;
  if (mode != OpenMode::kCreate && !fs::exists(file, ec))
    throw CatalogError("no catalog at " + file.string() + " (run `moodtunes catalog setup` or `moodtunes catalog import`)");
  if (fs::is_directory(file, ec)) throw CatalogError(file.string() + " is a folder, not a catalog file");
  if (mode == OpenMode::kCreate && file.has_parent_path()) fs::create_directories(file.parent_path(), ec);
  auto open = [&](const std::string& name, int flags) {
    if (sqlite3_open_v2(name.c_str(), &db_, flags, nullptr) == SQLITE_OK) return std::string();
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    return msg;
  };
  std::string error;
  if (read_only_) {
    error = open(file.string(), SQLITE_OPEN_READONLY);
    // A WAL catalog on read-only media cannot create its shared-memory file: read it as immutable.
    if (error.empty() && sqlite3_exec(db_, "SELECT 1 FROM sqlite_master LIMIT 1", nullptr, nullptr, nullptr) != SQLITE_OK) {
      sqlite3_close(db_);
      db_ = nullptr;
      error = "unreadable";
    }
    if (!error.empty()) {
      char* uri = sqlite3_mprintf("file:%q?immutable=1", fs::absolute(file, ec).c_str());
      error = open(uri ? uri : "", SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
      sqlite3_free(uri);
    }
  } else {
    error = open(file.string(), SQLITE_OPEN_READWRITE | (mode == OpenMode::kCreate ? SQLITE_OPEN_CREATE : 0));
  }
  if (!error.empty()) throw CatalogError("cannot open catalog " + file.string() + ": " + error);
  sqlite3_busy_timeout(db_, 5000);
  try {
    const int version = schema_version();
    check_is_catalog(version);
    if (!read_only_) {
      if (version < kSchemaVersion) migrate();
      // WAL lets readers and one writer work at once; the mode is stored in the file, so this
      // writes only the first time.
      bool wal = false;
      {
        Stmt mode_now(db_, "PRAGMA journal_mode");  // finalised before the switch: no open statement
        wal = mode_now.step() && mode_now.text(0) == "wal";
      }
      if (!wal) exec("PRAGMA journal_mode=WAL");
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Catalog::~Catalog() { sqlite3_close(db_); }

void Catalog::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw CatalogError("SQLite: " + msg);
  }
}

int Catalog::schema_version() {
  // SQLite says "file is not a database" for a non-SQLite file: a clear error, and nothing written.
  try {
    Stmt s(db_, "PRAGMA user_version");
    return s.step() ? static_cast<int>(s.i64(0)) : 0;
  } catch (const CatalogError& e) {
    throw CatalogError(path_.string() + " is not a moodtunes catalog (" + e.what() + ")");
  }
}

void Catalog::check_is_catalog(int version) {
  if (version > kSchemaVersion)
    throw CatalogError(path_.string() + " was written by a newer moodtunes (schema " + std::to_string(version) + ")");
  Stmt tables(db_, "SELECT count(*), sum(name = 'tracks') FROM sqlite_master WHERE type = 'table'");
  tables.step();
  const std::int64_t count = tables.i64(0), has_tracks = tables.i64(1);
  if (count > 0 && has_tracks == 0)
    throw CatalogError(path_.string() + " is an SQLite database but not a moodtunes catalog (it has no tracks table)");
  if (read_only_ && version < kSchemaVersion)
    throw CatalogError(count == 0 ? "no catalog at " + path_.string() + " (the file is empty; run `moodtunes catalog setup`)"
                                  : path_.string() + " has an older catalog schema: run `moodtunes catalog setup` to update it");
}

void Catalog::migrate() {
  exec("BEGIN IMMEDIATE");
  try {
    exec(kSchema);
    exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

// ---- Import -------------------------------------------------------------------------------

Catalog::Import::Import(Catalog& c) : c_(c) {
  c_.exec("BEGIN IMMEDIATE");
  const char* sql =
      "INSERT INTO tracks(source, source_id, title, artist, valence, arousal, raw_valence, raw_arousal,"
      " raw_scale, deezer_id, spotify_id, isrc, genre, msd_track_id)"
      " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"
      " ON CONFLICT(source, source_id) DO UPDATE SET"
      "  title=excluded.title, artist=excluded.artist, valence=excluded.valence, arousal=excluded.arousal,"
      "  raw_valence=excluded.raw_valence, raw_arousal=excluded.raw_arousal, raw_scale=excluded.raw_scale,"
      "  deezer_id=excluded.deezer_id, spotify_id=excluded.spotify_id, isrc=excluded.isrc,"
      "  genre=excluded.genre, msd_track_id=excluded.msd_track_id"
      // Only touch rows that differ, so sqlite3_changes() tells updated from unchanged.
      " WHERE (title, artist, valence, arousal, raw_valence, raw_arousal, raw_scale, deezer_id,"
      "        spotify_id, isrc, genre, msd_track_id) IS NOT"
      "       (excluded.title, excluded.artist, excluded.valence, excluded.arousal, excluded.raw_valence,"
      "        excluded.raw_arousal, excluded.raw_scale, excluded.deezer_id, excluded.spotify_id,"
      "        excluded.isrc, excluded.genre, excluded.msd_track_id)";
  try {
    if (sqlite3_prepare_v2(c_.db_, sql, -1, &upsert_, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(c_.db_, "SELECT 1 FROM tracks WHERE source=?1 AND source_id=?2", -1, &exists_,
                           nullptr) != SQLITE_OK)
      throw CatalogError(std::string("SQLite: ") + sqlite3_errmsg(c_.db_));
  } catch (...) {
    sqlite3_finalize(upsert_);
    sqlite3_finalize(exists_);
    sqlite3_exec(c_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

Catalog::Import::~Import() {
  sqlite3_finalize(upsert_);
  sqlite3_finalize(exists_);
  if (!done_) sqlite3_exec(c_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Catalog::Import::Result Catalog::Import::upsert(const Track& t) {
  auto text = [](sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  sqlite3_reset(exists_);
  text(exists_, 1, t.source);
  text(exists_, 2, t.source_id);
  const bool existed = sqlite3_step(exists_) == SQLITE_ROW;
  sqlite3_reset(exists_);

  sqlite3_reset(upsert_);
  text(upsert_, 1, t.source);
  text(upsert_, 2, t.source_id);
  text(upsert_, 3, t.title);
  text(upsert_, 4, t.artist);
  sqlite3_bind_double(upsert_, 5, t.valence);
  sqlite3_bind_double(upsert_, 6, t.arousal);
  if (t.raw_valence) sqlite3_bind_double(upsert_, 7, *t.raw_valence); else sqlite3_bind_null(upsert_, 7);
  if (t.raw_arousal) sqlite3_bind_double(upsert_, 8, *t.raw_arousal); else sqlite3_bind_null(upsert_, 8);
  text(upsert_, 9, t.raw_scale);
  if (t.deezer_id) sqlite3_bind_int64(upsert_, 10, *t.deezer_id); else sqlite3_bind_null(upsert_, 10);
  text(upsert_, 11, t.spotify_id);
  text(upsert_, 12, t.isrc);
  text(upsert_, 13, t.genre);
  text(upsert_, 14, t.msd_track_id);
  if (sqlite3_step(upsert_) != SQLITE_DONE)
    throw CatalogError(std::string("SQLite: ") + sqlite3_errmsg(c_.db_) + " (track " + t.source + ":" + t.source_id + ")");
  const int changed = sqlite3_changes(c_.db_);
  sqlite3_reset(upsert_);
  if (!existed) return Result::kInserted;
  return changed > 0 ? Result::kUpdated : Result::kUnchanged;
}

void Catalog::Import::set_meta(const std::string& key, const std::string& value) {
  Stmt s(c_.db_, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  s.bind(1, key);
  s.bind(2, value);
  s.step();
}

void Catalog::Import::commit() {
  c_.exec("COMMIT");
  done_ = true;
}

// ---- Queries -------------------------------------------------------------------------------

std::int64_t Catalog::size() {
  Stmt s(db_, "SELECT COUNT(*) FROM tracks");
  s.step();
  return s.i64(0);
}

CatalogStats Catalog::stats() {
  CatalogStats st;
  st.path = path_;
  {
    Stmt s(db_,
           "SELECT COUNT(*), COUNT(DISTINCT lower(artist)), MIN(valence), MAX(valence), AVG(valence),"
           " MIN(arousal), MAX(arousal), AVG(arousal),"
           " SUM(valence>=0 AND arousal>=0), SUM(valence<0 AND arousal>=0), SUM(valence<0 AND arousal<0),"
           " SUM(valence>=0 AND arousal<0), SUM(deezer_id IS NOT NULL), SUM(spotify_id<>''), SUM(isrc<>'')"
           " FROM tracks");
    s.step();
    st.tracks = s.i64(0);
    st.artists = s.i64(1);
    st.min_valence = static_cast<float>(s.dbl(2));
    st.max_valence = static_cast<float>(s.dbl(3));
    st.mean_valence = static_cast<float>(s.dbl(4));
    st.min_arousal = static_cast<float>(s.dbl(5));
    st.max_arousal = static_cast<float>(s.dbl(6));
    st.mean_arousal = static_cast<float>(s.dbl(7));
    for (int q = 0; q < 4; ++q) st.quadrant[q] = s.i64(8 + q);
    st.with_deezer_id = s.i64(12);
    st.with_spotify_id = s.i64(13);
    st.with_isrc = s.i64(14);
  }
  Stmt s(db_, "SELECT source, COUNT(*) FROM tracks GROUP BY source ORDER BY source");
  while (s.step()) st.sources.push_back({s.text(0), s.i64(1)});
  st.last_import = meta("last_import").value_or("");
  return st;
}

std::optional<Track> Catalog::get(std::int64_t id) {
  Stmt s(db_, (std::string("SELECT ") + kTrackColumns + " FROM tracks WHERE id=?1").c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_track(s);
}

std::vector<Track> Catalog::get_many(std::span<const std::int64_t> ids) {
  std::vector<Track> out;
  out.reserve(ids.size());
  Stmt s(db_, (std::string("SELECT ") + kTrackColumns + " FROM tracks WHERE id=?1").c_str());
  for (auto id : ids) {
    s.reset();
    s.bind(1, id);
    if (s.step()) out.push_back(read_track(s));
  }
  return out;
}

std::vector<Track> Catalog::search(std::string_view query, std::size_t limit) {
  // Each whitespace-separated word must occur in title or artist. LIKE wildcards in the query
  // are escaped so "100%" means the text "100%".
  std::vector<std::string> words;
  std::string w;
  for (char c : query) {
    if (std::isspace(static_cast<unsigned char>(c))) { if (!w.empty()) words.push_back(std::move(w)); w.clear(); }
    else w.push_back(c);
  }
  if (!w.empty()) words.push_back(std::move(w));
  std::string sql = std::string("SELECT ") + kTrackColumns + " FROM tracks WHERE 1";
  for (std::size_t i = 0; i < words.size(); ++i) {
    const auto p = std::to_string(i + 1);
    sql += " AND (title LIKE ?" + p + " ESCAPE '\\' OR artist LIKE ?" + p + " ESCAPE '\\')";
  }
  // Exact title/artist matches first, then shorter titles, then id for a stable order.
  sql += " ORDER BY (lower(title) = lower(?" + std::to_string(words.size() + 1) + ")) DESC,"
         " (lower(artist) = lower(?" + std::to_string(words.size() + 1) + ")) DESC, length(title), id LIMIT ?" +
         std::to_string(words.size() + 2);
  Stmt s(db_, sql.c_str());
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string pat = "%";
    for (char c : words[i]) {
      if (c == '%' || c == '_' || c == '\\') pat.push_back('\\');
      pat.push_back(c);
    }
    pat.push_back('%');
    s.bind(static_cast<int>(i + 1), pat);
  }
  std::string whole(query);
  s.bind(static_cast<int>(words.size() + 1), whole);
  s.bind(static_cast<int>(words.size() + 2), static_cast<std::int64_t>(limit));
  std::vector<Track> out;
  while (s.step()) out.push_back(read_track(s));
  return out;
}

std::vector<IndexEntry> Catalog::load_index_entries() {
  std::vector<IndexEntry> out;
  out.reserve(static_cast<std::size_t>(size()));
  std::unordered_map<std::string, std::uint32_t> artists;
  Stmt s(db_, "SELECT id, valence, arousal, artist FROM tracks ORDER BY id");
  while (s.step()) {
    auto [it, fresh] = artists.try_emplace(fold_key(s.text(3)), static_cast<std::uint32_t>(artists.size()));
    (void)fresh;
    out.push_back({s.i64(0), static_cast<float>(s.dbl(1)), static_cast<float>(s.dbl(2)), it->second});
  }
  return out;
}

std::unordered_set<std::int64_t> Catalog::session_served(const std::string& session) {
  std::unordered_set<std::int64_t> out;
  Stmt s(db_, "SELECT track_id FROM session_history WHERE session=?1");
  s.bind(1, session);
  while (s.step()) out.insert(s.i64(0));
  return out;
}

void Catalog::record_served(const std::string& session, std::span<const std::int64_t> ids) {
  exec("BEGIN IMMEDIATE");
  try {
    Stmt s(db_, "INSERT OR IGNORE INTO session_history(session, track_id) VALUES(?1, ?2)");
    for (auto id : ids) {
      s.reset();
      s.bind(1, session);
      s.bind(2, id);
      s.step();
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void Catalog::clear_session(const std::string& session) {
  Stmt s(db_, "DELETE FROM session_history WHERE session=?1");
  s.bind(1, session);
  s.step();
}

std::optional<std::string> Catalog::meta(const std::string& key) {
  Stmt s(db_, "SELECT value FROM meta WHERE key=?1");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

}  // namespace moodtunes::music
