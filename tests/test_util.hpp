// Helpers shared by the tests: temporary folders and where the shared data lives.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace moodtunes::test {

// A fresh folder under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("moodtunes-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

// ../shared/data (or $MOODTUNES_DATA).
inline std::filesystem::path data_dir() {
  if (const char* env = std::getenv("MOODTUNES_DATA"); env && *env) return env;
  return MOODTUNES_DATA_DIR;
}

inline std::filesystem::path source_dir() { return MOODTUNES_SOURCE_DIR; }

}  // namespace moodtunes::test
