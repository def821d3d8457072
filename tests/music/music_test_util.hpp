// Helpers for the music tests: a temp folder removed at scope end, file writing, and the
// shared data folder (env MOODTUNES_DATA first, then the MOODTUNES_DATA_DIR compile definition).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace moodtunes::test {


inline std::filesystem::path write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream o(p, std::ios::binary);
  o << text;
  return p;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::filesystem::path deezer_dir() { return moodtunes::test::data_dir() / "deezer-mood"; }

#define MT_REQUIRE_DEEZER_DATA()                                                              \
  if (!std::filesystem::exists(moodtunes::test::deezer_dir() / "train.csv"))                       \
  GTEST_SKIP() << "Deezer Mood Detection data not found at " << moodtunes::test::deezer_dir()     \
               << " (set MOODTUNES_DATA)"

}  // namespace moodtunes::test
