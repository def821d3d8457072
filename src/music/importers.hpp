// Catalog importers: the Deezer Mood Detection dataset and a generic "bring your own library" CSV.
//
// Normalisation (every source ends on the [-1, 1] valence/arousal scale of mood/mood.hpp):
//   * Deezer Mood Detection: valence/arousal are z-scores (mean 0, sd 1; observed range about
//     -2.3..2.8). Stored as clamp(z / 2.5, -1, 1): linear, so distances keep their meaning,
//     and +-2.5 sd (>98.7% of tracks) maps inside the scale without clipping. raw_scale "zscore/2.5".
//   * Generic CSV, chosen with GenericCsvOptions::scale (no guessing):
//       unit   [0, 1]  -> 2x - 1      (Spotify audio-feature style valence/energy; the default)
//       signed [-1, 1] -> x
//       sam9   [1, 9]  -> (x - 5) / 4 (Self-Assessment Manikin / ANEW style ratings)
//       zscore         -> clamp(z / 2.5)
//     A value outside its declared range is a bad row. When there is no arousal column, energy
//     is used as its proxy (raw_scale gets ";arousal=energy").
//   The raw values are kept in raw_valence/raw_arousal.
//
// Every import runs in one Catalog::Import transaction: rows are upserted by (source,
// source_id), so re-running adds nothing; any exception (I/O, SQLite, strict mode with bad rows)
// rolls back and the previous catalog stays as it was. Bad rows are never dropped silently:
// they are counted in ImportReport::bad and listed in bad_rows with file and line (and in strict mode fail the import).
// Not thread-safe beyond Catalog's rules.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "music/catalog.hpp"

namespace moodtunes::music {

// Public source of the Deezer Mood Detection dataset, pinned to one commit.
inline constexpr std::string_view kDeezerMoodSource = "deezer-mood";
inline constexpr std::string_view kDeezerMoodCommit = "9c6e1c5992a5b78166f6212d5b62b86217dff17f";
inline constexpr std::string_view kDeezerMoodBaseUrl =
    "https://raw.githubusercontent.com/deezer/deezer_mood_detection_dataset/"
    "9c6e1c5992a5b78166f6212d5b62b86217dff17f";
struct PinnedFile {
  std::string_view name;
  std::string_view sha256;
};
inline constexpr std::array<PinnedFile, 3> kDeezerMoodFiles = {{
    {"train.csv", "7c92c7426325f41a41ff75c93087593859907517c4c84973f8db8463e6b20f3f"},
    {"validation.csv", "4bf9c5b32245c523c1d3474bebe2294a1125efc3bdd2f3edb2204b0f6008e1c2"},
    {"test.csv", "472edbdac17a398f27ade8a1b2ea952a84c8ae925e73e23cd6960d9e4aff92b6"},
}};
inline constexpr double kDeezerZScale = 2.5;

enum class ValueScale { kUnit, kSigned, kSam9, kZScore };
ValueScale parse_value_scale(std::string_view name);  // "unit" | "signed" | "sam9" | "zscore"
std::string_view value_scale_name(ValueScale s);
// Maps a raw value to [-1, 1]; nullopt when it is outside the scale's declared range.
std::optional<float> normalise_value(double raw, ValueScale scale);

struct BadRow {
  std::string file;
  std::size_t line = 0;
  std::string reason;
};

// How many bad rows and duplicate warnings a report lists (all are counted): a file with one id
// repeated a million times must not print or store a million lines.
inline constexpr std::size_t kMaxListed = 100;

struct ImportReport {
  std::string source;
  std::vector<std::string> files;
  std::size_t rows = 0;  // data rows read (good + bad)
  std::size_t inserted = 0, updated = 0, unchanged = 0;
  std::size_t bad = 0;           // bad rows seen
  std::vector<BadRow> bad_rows;  // the first kMaxListed of them
  std::vector<std::string> warnings;  // checksum mismatches on local files, duplicate keys...
  std::size_t duplicates = 0;         // rows whose key was seen before (the first kMaxListed are in warnings)
  double seconds = 0.0;
  std::string to_json() const;  // compact summary (at most 100 bad rows listed)
};

// Thrown when an import is rejected; the catalog was rolled back. `report` says what was seen.
struct ImportError : std::runtime_error {
  ImportError(const std::string& what, ImportReport r) : std::runtime_error(what), report(std::move(r)) {}
  ImportReport report;
};

struct ImportOptions {
  bool strict = false;              // any bad row fails the whole import
  bool require_checksums = false;   // Deezer files must match the pinned sha256 (download path)
};

// The Deezer CSVs under `path`: a folder holding train.csv, validation.csv and test.csv, or a
// single CSV file. Throws ImportError when a file is missing.
std::vector<std::filesystem::path> deezer_mood_files(const std::filesystem::path& path);

// Imports Deezer Mood Detection CSVs (columns dzr_sng_id, MSD_sng_id, MSD_track_id, valence,
// arousal, artist_name, track_name; any order). Files named like the pinned ones are checked
// against their sha256: a mismatch is a warning, or an error with require_checksums.
ImportReport import_deezer_mood(Catalog& catalog, const std::vector<std::filesystem::path>& files,
                                const ImportOptions& options = {});

struct GenericCsvOptions {
  std::string source = "user";  // catalog source name; tracks are unique per (source, key)
  ValueScale scale = ValueScale::kUnit;
  ImportOptions import;
};

// Imports a user CSV with a header row. Columns (case-insensitive; aliases in brackets):
//   title [track, track_name, name], artist [artist_name, artists], valence,
//   arousal or energy, and optionally id, spotify_id [spotify_track_id], deezer_id
//   [dzr_sng_id], isrc, genre. The key within the source is id, else spotify_id, else
//   deezer_id, else isrc, else "artist|title" case-folded.
ImportReport import_generic_csv(Catalog& catalog, const std::filesystem::path& file,
                                const GenericCsvOptions& options = {});

}  // namespace moodtunes::music
