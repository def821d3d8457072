// libFuzzer target: music::CsvReader over any bytes (small and default CsvLimits, checking the
// limits hold), then the same bytes as a file through import_generic_csv() and
// import_deezer_mood() into an in-memory SQLite catalog. The first byte picks the importer
// and the value scale; the rest is the file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "music/catalog.hpp"
#include "music/csv.hpp"
#include "music/importers.hpp"

using namespace moodtunes::music;
namespace fs = std::filesystem;

namespace {

void read_all(const std::string& text, const CsvLimits& limits) {
  std::istringstream in(text);
  CsvReader reader(in, limits);
  CsvRecord rec;
  std::size_t last_line = 0;
  while (reader.next(rec)) {
    if (rec.fields.size() > limits.max_fields) std::abort();
    for (const auto& f : rec.fields)
      if (f.size() > limits.max_field_bytes) std::abort();
    if (rec.line == 0 || rec.line < last_line) std::abort();  // line numbers never go back
    last_line = rec.line;
  }
}

const fs::path& scratch_file() {
  static const fs::path path = [] {
    const fs::path dir = fs::temp_directory_path() / ("moodtunes-fuzz-csv-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / "tracks.csv";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0];
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  read_all(text, CsvLimits{});
  read_all(text, CsvLimits{16, 4, 64});

  {
    std::ofstream out(scratch_file(), std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  Catalog catalog(":memory:");
  try {
    if (mode & 1) {
      ImportOptions options;
      options.strict = mode & 2;
      const ImportReport r = import_deezer_mood(catalog, {scratch_file()}, options);
      if (r.bad_rows.size() > kMaxListed || r.inserted + r.updated + r.unchanged + r.bad != r.rows) std::abort();
    } else {
      GenericCsvOptions options;
      options.scale = static_cast<ValueScale>((mode >> 1) & 3);
      options.import.strict = mode & 8;
      const ImportReport r = import_generic_csv(catalog, scratch_file(), options);
      if (r.bad_rows.size() > kMaxListed || r.inserted + r.updated + r.unchanged + r.bad != r.rows) std::abort();
    }
  } catch (const ImportError&) {
  }
  return 0;
}
