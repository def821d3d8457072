// The music catalog: an embedded SQLite database of tracks positioned in valence-arousal space.
//
// File: one SQLite file (see default_catalog_path()). Tables:
//   tracks(id, source, source_id, title, artist, valence, arousal, raw_valence, raw_arousal,
//          raw_scale, deezer_id, spotify_id, isrc, genre, msd_track_id), UNIQUE(source, source_id)
//   meta(key, value)                         -- e.g. last import summary
//   session_history(session, track_id, ...)  -- tracks already served in a listening session
//   enrichment_cache(...)                    -- owned by providers/cache.hpp
// valence/arousal are normalised to [-1, 1] (see importers.hpp); raw_* keep the source values.
//
// Imports go through Catalog::Import: one write transaction, rows upserted by (source,
// source_id), so a re-run adds no duplicates and a failure (exception, or commit never called)
// rolls back and leaves the previous catalog intact.
//
// Opening: a read-only open (OpenMode::kReadOnly: stats, search, a recommendation without a
// session) never writes: no migration, no journal change; a catalog on read-only media opens as
// immutable. A read-write open migrates only a catalog whose schema is older, and switches it to
// WAL once, so readers never wait for an import and an import never waits for readers. A file
// that is not a moodtunes catalog (not SQLite, or SQLite with other tables) is refused with
// CatalogError and left untouched.
// Thread-safety: a Catalog owns one SQLite connection; use one Catalog per thread. Several
// processes may open the same file (SQLite locking; a busy timeout of 5 s applies to writers).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "music/sqlite_util.hpp"

namespace moodtunes::music {

struct CatalogError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Track {
  std::int64_t id = 0;     // catalog row id (assigned by the catalog)
  std::string source;      // "deezer-mood", "user", ...
  std::string source_id;   // the id within the source (Deezer id, user id, artist|title)
  std::string title;
  std::string artist;
  float valence = 0.0f;    // [-1, 1]
  float arousal = 0.0f;    // [-1, 1]
  std::optional<double> raw_valence, raw_arousal;  // as given by the source
  std::string raw_scale;   // how raw_* were mapped: "zscore/2.5", "unit", "signed", "sam9"
  std::optional<std::int64_t> deezer_id;
  std::string spotify_id, isrc, genre, msd_track_id;  // empty when unknown
};

// The minimal per-track data the recommender keeps in memory.
struct IndexEntry {
  std::int64_t id;
  float valence, arousal;
  std::uint32_t artist;  // dense id of the case-folded artist name (same name -> same id)
};

struct SourceStats {
  std::string source;
  std::int64_t tracks = 0;
};

struct CatalogStats {
  std::filesystem::path path;
  std::int64_t tracks = 0, artists = 0;
  std::vector<SourceStats> sources;
  float min_valence = 0, max_valence = 0, mean_valence = 0;
  float min_arousal = 0, max_arousal = 0, mean_arousal = 0;
  // Circumplex quadrants: [0] v>=0,a>=0  [1] v<0,a>=0  [2] v<0,a<0  [3] v>=0,a<0
  std::int64_t quadrant[4] = {0, 0, 0, 0};
  std::int64_t with_deezer_id = 0, with_spotify_id = 0, with_isrc = 0;
  std::string last_import;  // JSON summary of the last import, "" if none
};

enum class OpenMode {
  kCreate,        // create the file (and parent folders) when absent
  kMustExist,     // throw CatalogError when the file does not exist
  kReadOnly,      // kMustExist, and never write (see above)
};

// The catalog used when no --catalog flag is given: $MOODTUNES_CATALOG, else
// $XDG_DATA_HOME/moodtunes/catalog.sqlite, else ~/.local/share/moodtunes/catalog.sqlite.
std::filesystem::path default_catalog_path();

// Case-folded (ASCII lowercase, trimmed, inner whitespace collapsed) key for artist matching.
std::string fold_key(std::string_view s);

class Catalog {
 public:
  explicit Catalog(const std::filesystem::path& file, OpenMode mode = OpenMode::kCreate);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  const std::filesystem::path& path() const { return path_; }
  bool read_only() const { return read_only_; }
  sqlite3* handle() { return db_.get(); }  // for providers/cache.hpp (same file, same connection)

  // A write transaction for one import. Destroying it without commit() rolls back.
  class Import {
   public:
    explicit Import(Catalog& c);
    ~Import();
    Import(const Import&) = delete;
    Import& operator=(const Import&) = delete;
    enum class Result { kInserted, kUpdated, kUnchanged };
    Result upsert(const Track& t);
    void set_meta(const std::string& key, const std::string& value);
    void commit();

   private:
    Catalog& c_;
    SqliteStatement upsert_;
    SqliteStatement exists_;
    bool done_ = false;
  };

  std::int64_t size();
  CatalogStats stats();
  std::optional<Track> get(std::int64_t id);
  std::vector<Track> get_many(std::span<const std::int64_t> ids);  // in the order of ids
  // Tracks whose title or artist contains every word of `query` (case-insensitive), best first.
  std::vector<Track> search(std::string_view query, std::size_t limit);
  std::vector<IndexEntry> load_index_entries();

  // Listening sessions: the ids already served, so a session never repeats a track.
  std::unordered_set<std::int64_t> session_served(const std::string& session);
  void record_served(const std::string& session, std::span<const std::int64_t> ids);
  void clear_session(const std::string& session);

  std::optional<std::string> meta(const std::string& key);
  void exec(const char* sql);  // throws CatalogError with SQLite's message

 private:
  std::filesystem::path path_;
  SqliteConnection db_;
  bool read_only_ = false;
  int schema_version();
  void check_is_catalog(int version);
  void migrate();
};

}  // namespace moodtunes::music
