// Helpers for the music tests: a temp folder removed at scope end, file writing, and the
// shared data folder (env MOODTUNES_DATA first, then the MOODTUNES_DATA_DIR compile definition).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace mt_test {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("moodtunes-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::error_code ec; std::filesystem::remove_all(path_, ec); }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::filesystem::path write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream o(p, std::ios::binary);
  o << text;
  return p;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::filesystem::path deezer_dir() {
  if (const char* d = std::getenv("MOODTUNES_DATA"); d && *d) return std::filesystem::path(d) / "deezer-mood";
  return std::filesystem::path(MOODTUNES_DATA_DIR) / "deezer-mood";
}

#define MT_REQUIRE_DEEZER_DATA()                                                              \
  if (!std::filesystem::exists(mt_test::deezer_dir() / "train.csv"))                       \
  GTEST_SKIP() << "Deezer Mood Detection data not found at " << mt_test::deezer_dir()     \
               << " (set MOODTUNES_DATA)"

}  // namespace mt_test
