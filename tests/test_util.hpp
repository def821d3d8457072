// Helpers shared by the tests: temporary folders and where the shared data lives.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
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

// Runs a shell command line and returns its standard output; *exit_code gets its exit status
// (-1 when it could not start or did not exit normally).
inline std::string run_shell(const std::string& command_line, int* exit_code = nullptr) {
  std::string out;
  FILE* pipe = ::popen(command_line.c_str(), "r");
  if (!pipe) {
    if (exit_code) *exit_code = -1;
    return out;
  }
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// Runs the moodtunes CLI built with the tests with `args`, standard error merged into the
// returned output; *exit_code as for run_shell().
inline std::string run_cli(const std::string& args, int* exit_code = nullptr) {
  return run_shell(std::string(MOODTUNES_BINARY) + " " + args + " 2>&1", exit_code);
}

// A loopback port number nothing listens on: bound (never listened) to get a free number, then
// closed, so connecting is refused at once and a server started next may take it.
inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("no free loopback port");
  return ntohs(a.sin_port);
}

}  // namespace moodtunes::test
