// Helpers for the server tests: the real `moodtunes serve` binary started as a child process on
// 127.0.0.1 with --port 0 (its first output line names the port), its stdout and stderr
// captured in files, stopped with SIGTERM; a small catalog imported from a generated CSV; and
// images made with OpenCV.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <sqlite3.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "test_util.hpp"

namespace moodtunes::test {

namespace fs = std::filesystem;

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

class ServerProcess {
 public:
  // `args` after "serve"; --host 127.0.0.1 --port 0 are added. `env` is added to (or replaces
  // variables of) this process's environment; `cwd` empty: this process's folder.
  ServerProcess(std::vector<std::string> args, const fs::path& log_dir, std::map<std::string, std::string> env = {},
                const fs::path& cwd = {})
      : out_(log_dir / "server.out"), err_(log_dir / "server.err") {
    std::vector<std::string> argv_s = {MOODTUNES_BINARY, "serve", "--host", "127.0.0.1", "--port", "0"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::map<std::string, std::string> vars;
    for (char** e = environ; *e; ++e) {
      const std::string kv = *e;
      const auto eq = kv.find('=');
      if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (auto& [k, v] : env) vars[k] = v;
    std::vector<std::string> env_s;
    for (auto& [k, v] : vars) env_s.push_back(k + "=" + v);
    // Everything the child needs is built before fork(): after it, only exec-safe calls.
    std::vector<char*> argv, envp;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);
    const std::string out = out_.string(), err = err_.string(), dir = cwd.string();
    // A previous server's files would show its address before this one has written its own.
    std::error_code ec;
    fs::remove(out_, ec);
    fs::remove(err_, ec);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      if (!dir.empty() && ::chdir(dir.c_str()) != 0) ::_exit(126);
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (o < 0 || e < 0) ::_exit(126);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    const std::regex line(R"(moodtunes serving on http://127\.0\.0\.1:(\d+)/)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      const std::string text = read_text(out_);
      if (std::regex_search(text, m, line)) {
        port_ = std::stoi(m[1].str());
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        throw std::runtime_error("the server exited (" + std::to_string(exit_code_) + ") before serving:\n" + output());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("the server did not print its address within 120 s:\n" + output());
  }
  ~ServerProcess() { stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::unique_ptr<httplib::Client> client(int timeout_s = 60) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(timeout_s, 0);
    c->set_write_timeout(timeout_s, 0);
    c->set_connection_timeout(5, 0);
    return c;
  }
  // stdout, then stderr, as captured so far.
  std::string output() const { return read_text(out_) + read_text(err_); }
  std::string standard_output() const { return read_text(out_); }

  // SIGKILL, as when a machine or process dies: no shutdown code runs.
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_code_ = -1;
  }

  // SIGTERM, then the exit status (SIGKILL after 20 s: -1).
  int stop() {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return exit_code_ = -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    return exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
};

// A catalog of `n` tracks spread over valence-arousal (4 tracks per artist, each with a Deezer
// id), imported with the
// CLI from a generic CSV: no shared data needed.
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
