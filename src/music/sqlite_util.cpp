#include "music/sqlite_util.hpp"

#include <sqlite3.h>

namespace moodtunes::music {

void SqliteClose::operator()(sqlite3* db) const noexcept { sqlite3_close(db); }

void SqliteFinalize::operator()(sqlite3_stmt* statement) const noexcept { sqlite3_finalize(statement); }

SqliteConnection sqlite_open(const std::string& name, int flags, std::string& error) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(name.c_str(), &raw, flags, nullptr);
  SqliteConnection db(raw);  // owned even when the open failed: SQLite allocates one to say why
  if (rc == SQLITE_OK) {
    error.clear();
    return db;
  }
  error = raw ? sqlite3_errmsg(raw) : "out of memory";
  return nullptr;
}

SqliteStatement sqlite_prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  SqliteStatement statement(raw);  // SQLite leaves it null on failure; owned either way
  if (rc != SQLITE_OK) return nullptr;
  return statement;
}

}  // namespace moodtunes::music
