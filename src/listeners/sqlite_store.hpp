// ListenerStore on one SQLite file (by default listeners.sqlite beside the catalog, so the
// catalog stays read-only to the server): the default store for one machine.
//
// Table feedback(id, listener, track_id, signal, event_id, created_at, mood_valence,
// mood_arousal, strategy, track_valence, track_arousal, artist, reaction_valence,
// reaction_arousal), UNIQUE(listener, event_id), indexed by (listener, id). A file written by
// the first version (feedback without context, event_id unique across listeners) is migrated
// in place once, its rows kept (PRAGMA user_version 2 marks the new layout).
// Durability: WAL journal with synchronous=NORMAL: an acknowledged add() survives the process
// being killed (SIGKILL); a power cut may lose the last few. secure_delete is on and forget()
// checkpoints and truncates the WAL, so an erased listener's bytes are gone from both files.
// The file is created on first use. Failure: app::Unavailable (cannot open, read or write).
// Thread-safety: one connection behind a mutex; any thread may call any member.
#pragma once

#include <filesystem>
#include <mutex>

#include "listeners/event.hpp"
#include "music/sqlite_util.hpp"

namespace moodtunes::listeners {

class SqliteListenerStore final : public ListenerStore {
 public:
  explicit SqliteListenerStore(std::filesystem::path file);
  ~SqliteListenerStore() override;
  SqliteListenerStore(const SqliteListenerStore&) = delete;
  SqliteListenerStore& operator=(const SqliteListenerStore&) = delete;

  const std::filesystem::path& path() const { return file_; }
  bool add(const Event& event) override;
  std::size_t add_many(const std::vector<Event>& events) override;
  std::vector<Event> events(const std::string& listener, std::size_t limit = 0) override;
  std::size_t count(const std::string& listener) override;
  std::size_t total() override;
  std::size_t forget(const std::string& listener) override;
  std::string describe() const override { return "sqlite " + file_.string(); }

 private:
  void open();  // with mu_ held
  bool insert(const Event& e);  // with mu_ held
  std::filesystem::path file_;
  std::mutex mu_;
  music::SqliteConnection db_;
  music::SqliteStatement insert_;  // after db_: finalised before the connection closes
};

// listeners.sqlite beside `catalog` (the server's and the CLI's default).
std::filesystem::path default_store_path(const std::filesystem::path& catalog);

}  // namespace moodtunes::listeners
