#include "listeners/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <ctime>

#include "app/errors.hpp"

namespace moodtunes::listeners {

namespace {

constexpr int kVersion = 2;

constexpr const char* kCreate =
    "CREATE TABLE IF NOT EXISTS feedback("
    "  id INTEGER PRIMARY KEY,"
    "  listener TEXT NOT NULL,"
    "  track_id INTEGER NOT NULL,"
    "  signal TEXT NOT NULL CHECK(signal IN ('like','skip','dislike','reaction')),"
    "  event_id TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  mood_valence REAL, mood_arousal REAL, strategy TEXT,"
    "  track_valence REAL, track_arousal REAL, artist TEXT,"
    "  reaction_valence REAL, reaction_arousal REAL,"
    "  UNIQUE(listener, event_id));"
    "CREATE INDEX IF NOT EXISTS feedback_listener_id ON feedback(listener, id);";

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw app::Unavailable("listener store: " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    throw app::Unavailable("listener store: " + why);
  }
}

std::int64_t scalar(sqlite3* db, const char* sql, const std::string* text = nullptr) {
  const auto owner = music::sqlite_prepare(db, sql);
  sqlite3_stmt* const st = owner.get();
  if (!st) fail(db, "prepare");
  if (text) sqlite3_bind_text(st, 1, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
  std::int64_t v = 0;
  const int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail(db, "read");
  return v;
}

void bind_text(sqlite3_stmt* st, int i, const std::string& s) {
  if (s.empty()) sqlite3_bind_null(st, i);
  else sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

void bind_point(sqlite3_stmt* st, int i, const std::optional<MoodPoint>& p) {
  if (p) {
    sqlite3_bind_double(st, i, p->valence);
    sqlite3_bind_double(st, i + 1, p->arousal);
  } else {
    sqlite3_bind_null(st, i);
    sqlite3_bind_null(st, i + 1);
  }
}

std::string text_col(sqlite3_stmt* st, int i) {
  const auto* t = sqlite3_column_text(st, i);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(st, i))) : "";
}

std::optional<MoodPoint> point_col(sqlite3_stmt* st, int i) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL || sqlite3_column_type(st, i + 1) == SQLITE_NULL) return std::nullopt;
  return MoodPoint{static_cast<float>(sqlite3_column_double(st, i)), static_cast<float>(sqlite3_column_double(st, i + 1))};
}

}  // namespace

std::filesystem::path default_store_path(const std::filesystem::path& catalog) {
  return catalog.parent_path() / "listeners.sqlite";
}

SqliteListenerStore::SqliteListenerStore(std::filesystem::path file) : file_(std::move(file)) {}

SqliteListenerStore::~SqliteListenerStore() = default;

void SqliteListenerStore::open() {
  if (db_) return;
  std::error_code ec;
  if (file_.has_parent_path()) std::filesystem::create_directories(file_.parent_path(), ec);
  std::string why;
  // Owned here until the file is ready: a failure below closes it.
  music::SqliteConnection owner =
      music::sqlite_open(file_.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, why);
  if (!owner) throw app::Unavailable("cannot open the listener store " + file_.string() + ": " + why);
  sqlite3* const db = owner.get();
  sqlite3_busy_timeout(db, 5000);
  exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;");
  const std::int64_t version = scalar(db, "PRAGMA user_version");
  if (version < kVersion) {
    exec(db, "BEGIN IMMEDIATE");
    try {
      const bool v1 = scalar(db, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='feedback'") > 0 &&
                      scalar(db, "SELECT COUNT(*) FROM pragma_table_info('feedback') WHERE name='artist'") == 0;
      // The first layout had no context columns, a CHECK without 'reaction' (a CHECK cannot
      // be altered in SQLite) and event_id unique across listeners: rebuild, keeping its rows.
      if (v1) {
        exec(db, "ALTER TABLE feedback RENAME TO feedback_v1; DROP INDEX IF EXISTS feedback_listener;");
        exec(db, kCreate);
        // Old event ids were unique across listeners, so none collide per listener.
        exec(db, "INSERT INTO feedback(id, listener, track_id, signal, event_id, created_at) "
                 "SELECT id, listener, track_id, signal, event_id, created_at FROM feedback_v1;"
                 "DROP TABLE feedback_v1;");
      } else {
        exec(db, kCreate);
      }
      exec(db, "PRAGMA user_version=" + std::to_string(kVersion) + "; COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  music::SqliteStatement insert = music::sqlite_prepare(
      db,
      "INSERT OR IGNORE INTO feedback(listener, track_id, signal, event_id, created_at, mood_valence, mood_arousal, "
      "strategy, track_valence, track_arousal, artist, reaction_valence, reaction_arousal) "
      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
  if (!insert) fail(db, "prepare");
  db_ = std::move(owner);
  insert_ = std::move(insert);
}

bool SqliteListenerStore::insert(const Event& e) {
  sqlite3_stmt* const st = insert_.get();
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  sqlite3_bind_text(st, 1, e.listener.data(), static_cast<int>(e.listener.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, e.track_id);
  const auto sig = signal_name(e.signal);
  sqlite3_bind_text(st, 3, sig.data(), static_cast<int>(sig.size()), SQLITE_STATIC);
  bind_text(st, 4, e.event_id);
  sqlite3_bind_int64(st, 5, e.created_at ? e.created_at : static_cast<sqlite3_int64>(std::time(nullptr)));
  bind_point(st, 6, e.mood);
  bind_text(st, 8, e.strategy);
  bind_point(st, 9, e.track);
  bind_text(st, 11, e.artist);
  bind_point(st, 12, e.reaction);
  const int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) fail(db_.get(), "write");
  return sqlite3_changes(db_.get()) > 0;
}

bool SqliteListenerStore::add(const Event& e) {
  std::lock_guard lock(mu_);
  open();
  return insert(e);
}

std::size_t SqliteListenerStore::add_many(const std::vector<Event>& events) {
  std::lock_guard lock(mu_);
  open();
  exec(db_.get(), "BEGIN IMMEDIATE");
  std::size_t added = 0;
  try {
    for (const auto& e : events) added += insert(e) ? 1 : 0;
    exec(db_.get(), "COMMIT");
  } catch (...) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return added;
}

std::vector<Event> SqliteListenerStore::events(const std::string& listener, std::size_t limit) {
  std::lock_guard lock(mu_);
  open();
  // The newest `limit` (by id), returned oldest first.
  const auto owner = music::sqlite_prepare(
      db_.get(),
      "SELECT id, track_id, signal, event_id, created_at, mood_valence, mood_arousal, strategy, track_valence, "
      "track_arousal, artist, reaction_valence, reaction_arousal FROM feedback WHERE listener = ?1 ORDER BY id DESC LIMIT ?2");
  sqlite3_stmt* const st = owner.get();
  if (!st) fail(db_.get(), "prepare");
  sqlite3_bind_text(st, 1, listener.data(), static_cast<int>(listener.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, limit ? static_cast<sqlite3_int64>(limit) : -1);
  std::vector<Event> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    Event e;
    e.listener = listener;
    e.seq = sqlite3_column_int64(st, 0);
    e.track_id = sqlite3_column_int64(st, 1);
    e.signal = parse_signal(text_col(st, 2)).value_or(Signal::kSkip);
    e.event_id = text_col(st, 3);
    e.created_at = sqlite3_column_int64(st, 4);
    e.mood = point_col(st, 5);
    e.strategy = text_col(st, 7);
    e.track = point_col(st, 8);
    e.artist = text_col(st, 10);
    e.reaction = point_col(st, 11);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) fail(db_.get(), "read");
  std::reverse(out.begin(), out.end());
  return out;
}

std::size_t SqliteListenerStore::count(const std::string& listener) {
  std::lock_guard lock(mu_);
  open();
  return static_cast<std::size_t>(scalar(db_.get(), "SELECT COUNT(*) FROM feedback WHERE listener = ?1", &listener));
}

std::size_t SqliteListenerStore::total() {
  std::lock_guard lock(mu_);
  open();
  return static_cast<std::size_t>(scalar(db_.get(), "SELECT COUNT(*) FROM feedback"));
}

std::size_t SqliteListenerStore::forget(const std::string& listener) {
  std::lock_guard lock(mu_);
  open();
  int rc = SQLITE_OK;
  {
    const auto st = music::sqlite_prepare(db_.get(), "DELETE FROM feedback WHERE listener = ?1");
    if (!st) fail(db_.get(), "prepare");
    sqlite3_bind_text(st.get(), 1, listener.data(), static_cast<int>(listener.size()), SQLITE_TRANSIENT);
    rc = sqlite3_step(st.get());
  }  // finalised before the checkpoint below
  if (rc != SQLITE_DONE) fail(db_.get(), "delete");
  const auto n = static_cast<std::size_t>(sqlite3_changes(db_.get()));
  // secure_delete zeroed the freed cells in the pages written to the WAL; copying them into the
  // database and truncating the WAL leaves no older copy of those pages in either file.
  if (sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr) != SQLITE_OK)
    fail(db_.get(), "checkpoint after erasing");
  return n;
}

}  // namespace moodtunes::listeners
