// Owners for SQLite handles, shared by every SQLite user (music/catalog.cpp,
// providers/cache.cpp, listeners/sqlite_store.cpp), so that no code path closes a connection or
// finalises a statement by hand.
//
// Ownership: SqliteConnection owns one sqlite3* and closes it (sqlite3_close) when it goes away;
// SqliteStatement owns one sqlite3_stmt* and finalises it. A statement must go before its
// connection (sqlite3_close refuses a connection with live statements): declare statement
// members and locals after the connection they use. Nothing here throws; callers report
// failures in their own error type, with sqlite3_errmsg() of the connection. <sqlite3.h> stays
// in the .cpp files, so public headers may hold these owners.
// Thread-safety: none added; each connection is used by one thread at a time (or behind its
// owner's mutex), as with a raw handle.
#pragma once

#include <memory>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace moodtunes::music {

struct SqliteClose {
  void operator()(sqlite3* db) const noexcept;
};
struct SqliteFinalize {
  void operator()(sqlite3_stmt* statement) const noexcept;
};

using SqliteConnection = std::unique_ptr<sqlite3, SqliteClose>;
using SqliteStatement = std::unique_ptr<sqlite3_stmt, SqliteFinalize>;

// sqlite3_open_v2(name, flags): the connection, or null with SQLite's reason in `error` (the
// handle SQLite allocates to report a failed open is closed here).
SqliteConnection sqlite_open(const std::string& name, int flags, std::string& error);

// sqlite3_prepare_v2 of `sql` on `db`: null when SQLite refuses it (sqlite3_errmsg(db) says why).
SqliteStatement sqlite_prepare(sqlite3* db, const char* sql);

}  // namespace moodtunes::music
