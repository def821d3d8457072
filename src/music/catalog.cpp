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

// Prepared statement (finalised by its owner) whose failures are CatalogError.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : conn_(db), s_(sqlite_prepare(db, sql)) {
    if (!s_) throw CatalogError(std::string("SQLite: ") + sqlite3_errmsg(db));
  }
  sqlite3_stmt* get() { return s_.get(); }
  bool step() {
    int rc = sqlite3_step(s_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw CatalogError(std::string("SQLite: ") + sqlite3_errmsg(conn_));
  }
  void reset() { sqlite3_reset(s_.get()); sqlite3_clear_bindings(s_.get()); }
  void bind(int i, std::string_view v) { sqlite3_bind_text(s_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_.get(), i, v); }
  void bind(int i, double v) { sqlite3_bind_double(s_.get(), i, v); }
  void bind_null(int i) { sqlite3_bind_null(s_.get(), i); }
  std::string text(int i) {
    auto* p = sqlite3_column_text(s_.get(), i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_.get(), i))) : std::string();
  }
  std::int64_t i64(int i) { return sqlite3_column_int64(s_.get(), i); }
  double dbl(int i) { return sqlite3_column_double(s_.get(), i); }
  bool is_null(int i) { return sqlite3_column_type(s_.get(), i) == SQLITE_NULL; }

 private:
  sqlite3* conn_;
  SqliteStatement s_;
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
  std::string error;
  if (read_only_) {
    db_ = sqlite_open(file.string(), SQLITE_OPEN_READONLY, error);
    // A WAL catalog on read-only media cannot create its shared-memory file: read it as immutable.
    if (db_ && sqlite3_exec(db_.get(), "SELECT 1 FROM sqlite_master LIMIT 1", nullptr, nullptr, nullptr) != SQLITE_OK) {
      db_.reset();
      error = "unreadable";
    }
    if (!db_.get()) {
      char* uri = sqlite3_mprintf("file:%q?immutable=1", fs::absolute(file, ec).c_str());
      db_ = sqlite_open(uri ? uri : "", SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, error);
      sqlite3_free(uri);
    }
  } else {
    db_ = sqlite_open(file.string(), SQLITE_OPEN_READWRITE | (mode == OpenMode::kCreate ? SQLITE_OPEN_CREATE : 0), error);
  }
  if (!db_.get()) throw CatalogError("cannot open catalog " + file.string() + ": " + error);
  sqlite3_busy_timeout(db_.get(), 5000);
  // A failure below closes the connection with db_ (a member, destroyed when the constructor throws).
  const int version = schema_version();
  check_is_catalog(version);
  if (!read_only_) {
    if (version < kSchemaVersion) migrate();
    // WAL lets readers and one writer work at once; the mode is stored in the file, so this
    // writes only the first time.
    bool wal = false;
    {
      Stmt mode_now(db_.get(), "PRAGMA journal_mode");  // finalised before the switch: no open statement
      wal = mode_now.step() && mode_now.text(0) == "wal";
    }
    if (!wal) exec("PRAGMA journal_mode=WAL");
  }
}

Catalog::~Catalog() = default;

void Catalog::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_.get());
    sqlite3_free(err);
    throw CatalogError("SQLite: " + msg);
  }
}

int Catalog::schema_version() {
  // SQLite says "file is not a database" for a non-SQLite file: a clear error, and nothing written.
  try {
    Stmt s(db_.get(), "PRAGMA user_version");
    return s.step() ? static_cast<int>(s.i64(0)) : 0;
  } catch (const CatalogError& e) {
    throw CatalogError(path_.string() + " is not a moodtunes catalog (" + e.what() + ")");
  }
}

void Catalog::check_is_catalog(int version) {
  if (version > kSchemaVersion)
    throw CatalogError(path_.string() + " was written by a newer moodtunes (schema " + std::to_string(version) + ")");
  Stmt tables(db_.get(), "SELECT count(*), sum(name = 'tracks') FROM sqlite_master WHERE type = 'table'");
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
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
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
  upsert_ = sqlite_prepare(c_.db_.get(), sql);
  if (upsert_) exists_ = sqlite_prepare(c_.db_.get(), "SELECT 1 FROM tracks WHERE source=?1 AND source_id=?2");
  if (!exists_) {
    // The destructor does not run for a constructor that throws: roll back here.
    const std::string why = sqlite3_errmsg(c_.db_.get());
    upsert_.reset();
    sqlite3_exec(c_.db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw CatalogError("SQLite: " + why);
  }
}

Catalog::Import::~Import() {
  // Statements finalised before the rollback, as before (no open statement during ROLLBACK).
  upsert_.reset();
  exists_.reset();
  if (!done_) sqlite3_exec(c_.db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Catalog::Import::Result Catalog::Import::upsert(const Track& t) {
  sqlite3_stmt* const exists = exists_.get();
  sqlite3_stmt* const upsert = upsert_.get();
  auto text = [](sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  sqlite3_reset(exists);
  text(exists, 1, t.source);
  text(exists, 2, t.source_id);
  const bool existed = sqlite3_step(exists) == SQLITE_ROW;
  sqlite3_reset(exists);

  sqlite3_reset(upsert);
  text(upsert, 1, t.source);
  text(upsert, 2, t.source_id);
  text(upsert, 3, t.title);
  text(upsert, 4, t.artist);
  sqlite3_bind_double(upsert, 5, t.valence);
  sqlite3_bind_double(upsert, 6, t.arousal);
  if (t.raw_valence) sqlite3_bind_double(upsert, 7, *t.raw_valence); else sqlite3_bind_null(upsert, 7);
  if (t.raw_arousal) sqlite3_bind_double(upsert, 8, *t.raw_arousal); else sqlite3_bind_null(upsert, 8);
  text(upsert, 9, t.raw_scale);
  if (t.deezer_id) sqlite3_bind_int64(upsert, 10, *t.deezer_id); else sqlite3_bind_null(upsert, 10);
  text(upsert, 11, t.spotify_id);
  text(upsert, 12, t.isrc);
  text(upsert, 13, t.genre);
  text(upsert, 14, t.msd_track_id);
  if (sqlite3_step(upsert) != SQLITE_DONE)
    throw CatalogError(std::string("SQLite: ") + sqlite3_errmsg(c_.db_.get()) + " (track " + t.source + ":" + t.source_id + ")");
  const int changed = sqlite3_changes(c_.db_.get());
  sqlite3_reset(upsert);
  if (!existed) return Result::kInserted;
  return changed > 0 ? Result::kUpdated : Result::kUnchanged;
}

void Catalog::Import::set_meta(const std::string& key, const std::string& value) {
  Stmt s(c_.db_.get(), "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
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
  Stmt s(db_.get(), "SELECT COUNT(*) FROM tracks");
  s.step();
  return s.i64(0);
}

CatalogStats Catalog::stats() {
  CatalogStats st;
  st.path = path_;
  {
    Stmt s(db_.get(),
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
  Stmt s(db_.get(), "SELECT source, COUNT(*) FROM tracks GROUP BY source ORDER BY source");
  while (s.step()) st.sources.push_back({s.text(0), s.i64(1)});
  st.last_import = meta("last_import").value_or("");
  return st;
}

std::optional<Track> Catalog::get(std::int64_t id) {
  Stmt s(db_.get(), (std::string("SELECT ") + kTrackColumns + " FROM tracks WHERE id=?1").c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_track(s);
}

std::vector<Track> Catalog::get_many(std::span<const std::int64_t> ids) {
  std::vector<Track> out;
  out.reserve(ids.size());
  Stmt s(db_.get(), (std::string("SELECT ") + kTrackColumns + " FROM tracks WHERE id=?1").c_str());
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
  Stmt s(db_.get(), sql.c_str());
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
  Stmt s(db_.get(), "SELECT id, valence, arousal, artist FROM tracks ORDER BY id");
  while (s.step()) {
    auto [it, fresh] = artists.try_emplace(fold_key(s.text(3)), static_cast<std::uint32_t>(artists.size()));
    (void)fresh;
    out.push_back({s.i64(0), static_cast<float>(s.dbl(1)), static_cast<float>(s.dbl(2)), it->second});
  }
  return out;
}

std::unordered_set<std::int64_t> Catalog::session_served(const std::string& session) {
  std::unordered_set<std::int64_t> out;
  Stmt s(db_.get(), "SELECT track_id FROM session_history WHERE session=?1");
  s.bind(1, session);
  while (s.step()) out.insert(s.i64(0));
  return out;
}

void Catalog::record_served(const std::string& session, std::span<const std::int64_t> ids) {
  exec("BEGIN IMMEDIATE");
  try {
    Stmt s(db_.get(), "INSERT OR IGNORE INTO session_history(session, track_id) VALUES(?1, ?2)");
    for (auto id : ids) {
      s.reset();
      s.bind(1, session);
      s.bind(2, id);
      s.step();
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void Catalog::clear_session(const std::string& session) {
  Stmt s(db_.get(), "DELETE FROM session_history WHERE session=?1");
  s.bind(1, session);
  s.step();
}

std::optional<std::string> Catalog::meta(const std::string& key) {
  Stmt s(db_.get(), "SELECT value FROM meta WHERE key=?1");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

}  // namespace moodtunes::music
