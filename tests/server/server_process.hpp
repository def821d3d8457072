// Helpers for the server tests: the `moodtunes serve` child process (support/server_process.hpp,
// shared with bench_server), a small catalog imported from a generated CSV, row counts of an
// SQLite file, and images made with OpenCV.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "support/server_process.hpp"
#include "test_util.hpp"

namespace moodtunes::test {

namespace fs = std::filesystem;

inline void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// A catalog of `n` tracks spread over valence-arousal (4 tracks per artist, each with a Deezer
// id), imported with the CLI from a generic CSV: no shared data needed.
inline fs::path make_catalog(const fs::path& dir, int n = 240) {
  std::ostringstream csv;
  csv << "id,title,artist,valence,arousal,deezer_id\n";
  for (int i = 0; i < n; ++i) {
    const double v = -0.95 + 1.9 * ((i * 37) % n) / double(n - 1);
    const double a = -0.95 + 1.9 * ((i * 91) % n) / double(n - 1);
    csv << "t" << i << ",Song " << i << ",Artist " << i / 4 << "," << v << "," << a << "," << 3135556 + i << "\n";
  }
  write_text(dir / "tracks.csv", csv.str());
  const fs::path catalog = dir / "catalog.sqlite";
  int status = -1;
  const std::string out = moodtunes::test::run_cli("catalog import " + (dir / "tracks.csv").string() +
                                                   " --format csv --scale signed --catalog " + catalog.string(), &status);
  if (status != 0) throw std::runtime_error("catalog import failed: " + out);
  return catalog;
}

// The one number `sql` selects from the SQLite file `db_file` (opened read-only); -1 when it
// cannot be read.
inline std::int64_t count_rows(const fs::path& db_file, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

inline std::string encode(const cv::Mat& img, const std::string& ext = ".jpg") {
  std::vector<unsigned char> buf;
  cv::imencode(ext, img, buf);
  return std::string(buf.begin(), buf.end());
}

// The photos of one class of realfaces/val, sorted; empty when the data is absent.
inline std::vector<fs::path> realfaces(const std::string& cls) {
  std::vector<fs::path> out;
  const fs::path dir = moodtunes::test::data_dir() / "realfaces/val" / cls;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// A 640x480 camera-like frame with `face` (scaled to `side` px) pasted at (x, y).
inline cv::Mat frame_with_face(const cv::Mat& face, int x, int y, int side = 240) {
  cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(96, 110, 120));
  cv::Mat scaled;
  cv::resize(face, scaled, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  scaled.copyTo(frame(cv::Rect(x, y, side, side)));
  return frame;
}

}  // namespace moodtunes::test
