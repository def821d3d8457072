#include "music/importers.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "music/csv.hpp"
#include "music/sha256.hpp"

namespace moodtunes::music {

namespace fs = std::filesystem;

ValueScale parse_value_scale(std::string_view name) {
  if (name == "unit") return ValueScale::kUnit;
  if (name == "signed") return ValueScale::kSigned;
  if (name == "sam9") return ValueScale::kSam9;
  if (name == "zscore") return ValueScale::kZScore;
  throw std::invalid_argument("unknown value scale '" + std::string(name) + "' (unit, signed, sam9, zscore)");
}

std::string_view value_scale_name(ValueScale s) {
  switch (s) {
    case ValueScale::kUnit: return "unit";
    case ValueScale::kSigned: return "signed";
    case ValueScale::kSam9: return "sam9";
    case ValueScale::kZScore: return "zscore/2.5";
  }
  return "?";
}

std::optional<float> normalise_value(double x, ValueScale scale) {
  if (!std::isfinite(x)) return std::nullopt;
  switch (scale) {
    case ValueScale::kUnit:
      if (x < 0.0 || x > 1.0) return std::nullopt;
      return static_cast<float>(2.0 * x - 1.0);
    case ValueScale::kSigned:
      if (x < -1.0 || x > 1.0) return std::nullopt;
      return static_cast<float>(x);
    case ValueScale::kSam9:
      if (x < 1.0 || x > 9.0) return std::nullopt;
      return static_cast<float>((x - 5.0) / 4.0);
    case ValueScale::kZScore:
      // |z| > 10 is not a standardised score: a unit mix-up, not an outlier.
      if (std::abs(x) > 10.0) return std::nullopt;
      return static_cast<float>(std::clamp(x / kDeezerZScale, -1.0, 1.0));
  }
  return std::nullopt;
}

std::string ImportReport::to_json() const {
  nlohmann::json j = {{"source", source}, {"files", files},       {"rows", rows},
                      {"inserted", inserted}, {"updated", updated}, {"unchanged", unchanged},
                      {"bad_rows", bad}, {"warnings", warnings}, {"duplicates", duplicates},
                      {"seconds", std::round(seconds * 1000.0) / 1000.0}};
  auto& list = j["bad_row_list"] = nlohmann::json::array();
  for (std::size_t i = 0; i < bad_rows.size() && i < kMaxListed; ++i)
    list.push_back({{"file", bad_rows[i].file}, {"line", bad_rows[i].line}, {"reason", bad_rows[i].reason}});
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<double> parse_double(std::string_view s) {
  std::string t = trim(s);
  if (t.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parse_positive_id(std::string_view s) {
  std::string t = trim(s);
  if (t.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size() || v <= 0) return std::nullopt;
  return v;
}

// Header name -> column index, with aliases. Unknown columns are ignored.
class Header {
 public:
  explicit Header(const std::vector<std::string>& names) {
    for (std::size_t i = 0; i < names.size(); ++i) idx_.try_emplace(lower(trim(names[i])), i);
    count_ = names.size();
  }
  std::optional<std::size_t> find(std::initializer_list<std::string_view> names) const {
    for (auto n : names)
      if (auto it = idx_.find(std::string(n)); it != idx_.end()) return it->second;
    return std::nullopt;
  }
  std::size_t count() const { return count_; }

 private:
  std::unordered_map<std::string, std::size_t> idx_;
  std::size_t count_ = 0;
};

std::ifstream open_csv(const fs::path& file, ImportReport& report) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw ImportError("no such file: " + file.string(), report);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ImportError("cannot read " + file.string(), report);
  return in;
}

// The header row, refused when malformed: cut to CsvLimits or misquoted, its columns cannot be
// trusted, and a header of 20 M commas was read as a good empty file (bench/badinput).
const CsvRecord& checked_header(const CsvRecord& rec, const fs::path& file, const ImportReport& report) {
  if (!rec.error.empty())
    throw ImportError(file.string() + ":" + std::to_string(rec.line) + ": unreadable header row: " + rec.error, report);
  return rec;
}

void note_bad(ImportReport& report, const std::string& file, std::size_t line, std::string why) {
  if (++report.bad <= kMaxListed) report.bad_rows.push_back({file, line, std::move(why)});
}

void note_duplicate(ImportReport& report, std::string message) {
  if (++report.duplicates <= kMaxListed) report.warnings.push_back(std::move(message));
}

// Finishes an import: strict check, meta summary, commit.
void finish(Catalog::Import& tx, ImportReport& report, const ImportOptions& options,
            std::chrono::steady_clock::time_point t0) {
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (report.duplicates > kMaxListed)
    report.warnings.push_back("... and " + std::to_string(report.duplicates - kMaxListed) +
                              " more duplicate rows (last one kept each time)");
  if (options.strict && report.bad > 0) {
    const auto& b = report.bad_rows.front();
    throw ImportError(std::to_string(report.bad) + " bad row(s), first at " + b.file + ":" +
                          std::to_string(b.line) + ": " + b.reason + " (strict: nothing imported)",
                      report);
  }
  if (report.rows > 0 && report.bad == report.rows)
    throw ImportError("every row is bad (first at " + report.bad_rows.front().file + ":" +
                          std::to_string(report.bad_rows.front().line) + ": " + report.bad_rows.front().reason +
                          "); nothing imported",
                      report);
  tx.set_meta("last_import", report.to_json());
  tx.commit();
}

void count(Catalog::Import::Result r, ImportReport& report) {
  switch (r) {
    case Catalog::Import::Result::kInserted: ++report.inserted; break;
    case Catalog::Import::Result::kUpdated: ++report.updated; break;
    case Catalog::Import::Result::kUnchanged: ++report.unchanged; break;
  }
}

// Why a CSV record cannot be imported as a row (malformed, or a field count other than the
// header's); nullopt when it is well formed. Shared by every importer.
std::optional<std::string> record_problem(const CsvRecord& rec, std::size_t header_fields) {
  if (!rec.error.empty()) return rec.error;
  if (rec.fields.size() != header_fields)
    return "expected " + std::to_string(header_fields) + " fields, got " + std::to_string(rec.fields.size());
  return std::nullopt;
}

}  // namespace

std::vector<fs::path> deezer_mood_files(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> out;
    for (const auto& f : kDeezerMoodFiles) {
      fs::path p = path / f.name;
      if (!fs::is_regular_file(p, ec))
        throw ImportError("Deezer Mood Detection folder " + path.string() + " lacks " + std::string(f.name), {});
      out.push_back(p);
    }
    return out;
  }
  if (fs::is_regular_file(path, ec)) return {path};
  throw ImportError("no such file or folder: " + path.string(), {});
}

ImportReport import_deezer_mood(Catalog& catalog, const std::vector<fs::path>& files, const ImportOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  ImportReport report;
  report.source = std::string(kDeezerMoodSource);
  if (files.empty()) throw ImportError("no Deezer Mood Detection files given", report);

  // Checksums first: with require_checksums nothing is written when any file differs.
  for (const auto& file : files) {
    report.files.push_back(file.string());
    const auto name = file.filename().string();
    for (const auto& pinned : kDeezerMoodFiles) {
      if (name != pinned.name) continue;
      std::string got;
      try {
        got = sha256_file_hex(file);
      } catch (const std::exception& e) {
        throw ImportError(e.what(), report);
      }
      if (got != pinned.sha256) {
        std::string msg = file.string() + ": sha256 " + got + " differs from the pinned " + std::string(pinned.sha256) +
                          " (commit " + std::string(kDeezerMoodCommit) + ")";
        if (options.require_checksums) throw ImportError(msg, report);
        report.warnings.push_back(msg);
      }
    }
  }

  Catalog::Import tx(catalog);
  std::unordered_map<std::int64_t, std::string> seen;  // dzr id -> "file:line" (duplicate warnings)
  for (const auto& file : files) {
    std::ifstream in = open_csv(file, report);
    CsvReader csv(in);
    CsvRecord rec;
    const std::string fname = file.filename().string();
    if (!csv.next(rec)) throw ImportError(file.string() + " is empty", report);
    Header h(checked_header(rec, file, report).fields);
    const auto c_id = h.find({"dzr_sng_id"}), c_v = h.find({"valence"}), c_a = h.find({"arousal"}),
               c_artist = h.find({"artist_name"}), c_title = h.find({"track_name"}),
               c_msd = h.find({"msd_track_id"});
    if (!c_id || !c_v || !c_a || !c_artist || !c_title)
      throw ImportError(file.string() + ":" + std::to_string(rec.line) +
                            ": not a Deezer Mood Detection CSV (needs columns dzr_sng_id, valence, arousal, "
                            "artist_name, track_name)",
                        report);
    while (csv.next(rec)) {
      ++report.rows;
      auto bad = [&](std::string why) { note_bad(report, fname, rec.line, std::move(why)); };
      if (auto why = record_problem(rec, h.count())) { bad(*why); continue; }
      const auto id = parse_positive_id(rec.fields[*c_id]);
      if (!id) { bad("dzr_sng_id '" + rec.fields[*c_id] + "' is not a positive integer"); continue; }
      const auto zv = parse_double(rec.fields[*c_v]), za = parse_double(rec.fields[*c_a]);
      if (!zv) { bad("valence '" + rec.fields[*c_v] + "' is not a number"); continue; }
      if (!za) { bad("arousal '" + rec.fields[*c_a] + "' is not a number"); continue; }
      const auto v = normalise_value(*zv, ValueScale::kZScore), a = normalise_value(*za, ValueScale::kZScore);
      if (!v || !a) { bad("valence/arousal z-score beyond +-10"); continue; }
      Track t;
      t.source = std::string(kDeezerMoodSource);
      t.source_id = std::to_string(*id);
      t.deezer_id = *id;
      t.title = trim(rec.fields[*c_title]);
      t.artist = trim(rec.fields[*c_artist]);
      if (t.title.empty() || t.artist.empty()) { bad("empty artist_name or track_name"); continue; }
      t.valence = *v;
      t.arousal = *a;
      t.raw_valence = *zv;
      t.raw_arousal = *za;
      t.raw_scale = std::string(value_scale_name(ValueScale::kZScore));
      if (c_msd) t.msd_track_id = trim(rec.fields[*c_msd]);
      const std::string where = fname + ":" + std::to_string(rec.line);
      if (auto [it, fresh] = seen.try_emplace(*id, where); !fresh)
        note_duplicate(report, where + ": Deezer id " + t.source_id + " also at " + it->second + " (last one kept)");
      count(tx.upsert(t), report);
    }
  }
  finish(tx, report, options, t0);
  return report;
}

ImportReport import_generic_csv(Catalog& catalog, const fs::path& file, const GenericCsvOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  ImportReport report;
  report.source = options.source;
  report.files.push_back(file.string());
  if (options.source.empty() || options.source == kDeezerMoodSource)
    throw ImportError("choose a source name other than '" + std::string(kDeezerMoodSource) + "'", report);
  std::ifstream in = open_csv(file, report);
  CsvReader csv(in);
  CsvRecord rec;
  const std::string fname = file.filename().string();
  if (!csv.next(rec)) throw ImportError(file.string() + " is empty", report);
  Header h(checked_header(rec, file, report).fields);
  const auto c_title = h.find({"title", "track", "track_name", "name"});
  const auto c_artist = h.find({"artist", "artist_name", "artists"});
  const auto c_v = h.find({"valence"});
  const auto c_arousal = h.find({"arousal"});
  const auto c_energy = h.find({"energy"});
  const auto c_a = c_arousal ? c_arousal : c_energy;
  const auto c_id = h.find({"id"}), c_sp = h.find({"spotify_id", "spotify_track_id"}),
             c_dz = h.find({"deezer_id", "dzr_sng_id"}), c_isrc = h.find({"isrc"}), c_genre = h.find({"genre"});
  if (!c_title || !c_artist || !c_v || !c_a)
    throw ImportError(file.string() + ":" + std::to_string(rec.line) +
                          ": the header needs title, artist, valence and arousal (or energy) columns",
                      report);
  std::string scale_name(value_scale_name(options.scale));
  if (!c_arousal) scale_name += ";arousal=energy";

  Catalog::Import tx(catalog);
  std::unordered_map<std::string, std::string> seen;
  while (csv.next(rec)) {
    ++report.rows;
    auto bad = [&](std::string why) { note_bad(report, fname, rec.line, std::move(why)); };
    if (auto why = record_problem(rec, h.count())) { bad(*why); continue; }
    Track t;
    t.source = options.source;
    t.title = trim(rec.fields[*c_title]);
    t.artist = trim(rec.fields[*c_artist]);
    if (t.title.empty()) { bad("empty title"); continue; }
    if (t.artist.empty()) { bad("empty artist"); continue; }
    const auto rv = parse_double(rec.fields[*c_v]), ra = parse_double(rec.fields[*c_a]);
    const char* a_name = c_arousal ? "arousal" : "energy";
    if (!rv) { bad("valence '" + rec.fields[*c_v] + "' is not a number"); continue; }
    if (!ra) { bad(std::string(a_name) + " '" + rec.fields[*c_a] + "' is not a number"); continue; }
    const auto v = normalise_value(*rv, options.scale), a = normalise_value(*ra, options.scale);
    if (!v) { bad("valence " + trim(rec.fields[*c_v]) + " outside the " + std::string(value_scale_name(options.scale)) + " scale"); continue; }
    if (!a) { bad(std::string(a_name) + " " + trim(rec.fields[*c_a]) + " outside the " + std::string(value_scale_name(options.scale)) + " scale"); continue; }
    t.valence = *v;
    t.arousal = *a;
    t.raw_valence = *rv;
    t.raw_arousal = *ra;
    t.raw_scale = scale_name;
    if (c_sp) t.spotify_id = trim(rec.fields[*c_sp]);
    if (c_isrc) t.isrc = trim(rec.fields[*c_isrc]);
    if (c_genre) t.genre = trim(rec.fields[*c_genre]);
    if (c_dz && !trim(rec.fields[*c_dz]).empty()) {
      t.deezer_id = parse_positive_id(rec.fields[*c_dz]);
      if (!t.deezer_id) { bad("deezer_id '" + rec.fields[*c_dz] + "' is not a positive integer"); continue; }
    }
    if (c_id && !trim(rec.fields[*c_id]).empty()) t.source_id = "id:" + trim(rec.fields[*c_id]);
    else if (!t.spotify_id.empty()) t.source_id = "spotify:" + t.spotify_id;
    else if (t.deezer_id) t.source_id = "deezer:" + std::to_string(*t.deezer_id);
    else if (!t.isrc.empty()) t.source_id = "isrc:" + t.isrc;
    else t.source_id = "name:" + fold_key(t.artist) + "|" + fold_key(t.title);
    const std::string where = fname + ":" + std::to_string(rec.line);
    if (auto [it, fresh] = seen.try_emplace(t.source_id, where); !fresh)
      note_duplicate(report, where + ": same track as " + it->second + " (" + t.source_id + "; last one kept)");
    count(tx.upsert(t), report);
  }
  finish(tx, report, options.import, t0);
  return report;
}

}  // namespace moodtunes::music
