// bench_server: `moodtunes serve` measured as its users load it, with its baselines in the same
// run (absolute times are noisy on a shared machine; the ratios are what to compare):
//   photos   POST /api/analyze of one real photo at 1, 4 and 16 clients: p50/p99 latency and
//            photos/s, against the CLI `detect` on the same photo (a process per photo) and the
//            in-process photo path (decode + analyse_image).
//   live     640x480 JPEG frames with one face through /api/streams at 1, 4 and 8 streams, each
//            a camera at 30 fps with one frame in flight (as the page sends them): analysed
//            frames/s per stream and p99 round trip, against the in-process pipeline (decode +
//            Pipeline::process) on the same frames: the server's overhead per frame.
//   memory   the server's RSS after 1,000 and after 10,000 requests (frames, photos, health,
//            streams opened and closed).
//   overload 32 clients sending photos at once: 503 + Retry-After, never another 5xx.
// The server runs as its own process (`moodtunes serve --offline`), as people run it, started by
// the launcher the server tests use (tests/support/server_process.hpp).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "app/model_path.hpp"
#include "support/server_process.hpp"
#include "model/classifier.hpp"
#include "vision/face_detector.hpp"
#include "vision/image_io.hpp"
#include "vision/pipeline.hpp"
#include "support/timing.hpp"

namespace fs = std::filesystem;
using moodtunes::bench::Clock;
using moodtunes::bench::ms_since;
using namespace moodtunes;

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::clamp(p * double(v.size() - 1) + 0.5, 0.0, double(v.size() - 1)));
  return v[i];
}

using Server = test::ServerProcess;

// The server's resident memory now, from /proc.
double rss_mb(const Server& server) {
  std::ifstream in("/proc/" + std::to_string(server.pid()) + "/status");
  for (std::string l; std::getline(in, l);)
    if (l.rfind("VmRSS:", 0) == 0) return std::stod(l.substr(6)) / 1024.0;
  return 0;
}

// A connection kept open between requests, as a page's.
std::unique_ptr<httplib::Client> client(const Server& server) {
  auto c = server.client(60);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);  // as browsers do
  return c;
}

struct Counts {
  std::atomic<long> requests{0}, ok{0}, busy{0}, busy_without_retry_after{0}, other_5xx{0}, other{0};
  void add(const httplib::Result& r) {
    ++requests;
    if (!r) { ++other; return; }
    if (r->status < 300) ++ok;
    else if (r->status == 503) { ++busy; if (!r->has_header("Retry-After")) ++busy_without_retry_after; }
    else if (r->status >= 500) ++other_5xx;
    else ++other;
  }
};

struct Load {
  std::vector<double> latencies_ms;
  double seconds = 0;
};

// `clients` threads, each sending `per_client` photos one after another.
Load photos(const Server& server, const std::string& jpeg, int clients, int per_client, Counts& counts) {
  Load load;
  std::mutex m;
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      auto cli = client(server);
      for (int i = 0; i < per_client; ++i) {
        const auto t = Clock::now();
        auto r = cli->Post("/api/analyze", jpeg, "image/jpeg");
        counts.add(r);
        if (r && r->status == 200) {
          std::lock_guard lock(m);
          load.latencies_ms.push_back(ms_since(t));
        }
      }
    });
  for (auto& t : threads) t.join();
  load.seconds = ms_since(t0) / 1000;
  return load;
}

struct StreamRun {
  std::vector<double> per_stream_fps;
  std::vector<double> rtt_ms;
};

// `streams` cameras at 30 fps for `seconds`, one frame in flight each (the page's behaviour).
StreamRun live(const Server& server, const std::vector<std::string>& frames, int streams, double seconds, Counts& counts) {
  StreamRun run;
  std::mutex m;
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s)
    threads.emplace_back([&, s] {
      auto cli = client(server);
      auto created = cli->Post("/api/streams", "", "application/json");
      counts.add(created);
      if (!created || created->status != 201) return;
      const std::string id = nlohmann::json::parse(created->body)["stream"];
      std::vector<double> rtts;
      const auto start = Clock::now();
      long sent = 0;
      while (ms_since(start) < seconds * 1000) {
        const double due = sent / 30.0 * 1000;  // the camera's next frame
        if (const double now = ms_since(start); now < due)
          std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>((due - now) * 1000)));
        const auto& frame = frames[static_cast<std::size_t>((sent + s * 7) % static_cast<long>(frames.size()))];
        const auto t = Clock::now();
        auto r = cli->Post("/api/streams/" + id + "/frames?t=" + std::to_string(ms_since(start) / 1000), frame, "image/jpeg");
        counts.add(r);
        if (r && r->status == 200) rtts.push_back(ms_since(t));
        ++sent;
      }
      const double fps = double(rtts.size()) / (ms_since(start) / 1000);
      counts.add(cli->Delete("/api/streams/" + id));
      std::lock_guard lock(m);
      run.per_stream_fps.push_back(fps);
      run.rtt_ms.insert(run.rtt_ms.end(), rtts.begin(), rtts.end());
    });
  for (auto& t : threads) t.join();
  return run;
}

// The server's own time for answered live frames so far (seconds summed, count), from /metrics.
std::pair<double, double> frame_time(const Server& server) {
  auto r = client(server)->Get("/metrics");
  double sum = 0, count = 0;
  if (!r) return {0, 0};
  std::istringstream in(r->body);
  const std::string route = "route=\"/api/streams/{id}/frames\"";
  for (std::string l; std::getline(in, l);) {
    if (l.find(route) == std::string::npos) continue;
    if (l.rfind("moodtunes_http_request_duration_seconds_sum{", 0) == 0) sum = std::stod(l.substr(l.rfind(' ') + 1));
    if (l.rfind("moodtunes_http_request_duration_seconds_count{", 0) == 0) count = std::stod(l.substr(l.rfind(' ') + 1));
  }
  return {sum, count};
}

// Requests of every kind until the server has answered `until` in all (counted by `counts`).
void churn(const Server& server, const std::vector<std::string>& frames, const std::string& jpeg, long until, Counts& counts) {
  std::vector<std::thread> threads;
  for (int s = 0; s < 2; ++s)
    threads.emplace_back([&, s] {
      auto cli = client(server);
      std::string id;
      for (long i = 0; counts.requests < until; ++i) {
        if (i % 200 == 0) {
          if (!id.empty()) counts.add(cli->Delete("/api/streams/" + id));
          auto c = cli->Post("/api/streams", "", "application/json");
          counts.add(c);
          id = c && c->status == 201 ? nlohmann::json::parse(c->body)["stream"].get<std::string>() : "";
        } else if (i % 100 == 50) {
          counts.add(cli->Post("/api/analyze", jpeg, "image/jpeg"));
        } else if (i % 100 == 75) {
          counts.add(cli->Get("/api/health"));
        } else if (!id.empty()) {
          counts.add(cli->Post("/api/streams/" + id + "/frames", frames[static_cast<std::size_t>((i + s) % 90)], "image/jpeg"));
        }
      }
      if (!id.empty()) counts.add(cli->Delete("/api/streams/" + id));
    });
  for (auto& t : threads) t.join();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"moodtunes serve under load, against the CLI and the in-process pipeline"};
  std::string binary = MOODTUNES_BINARY, model = "accurate", photo;
  const char* env_data = std::getenv("MOODTUNES_DATA");
  std::string data = env_data && *env_data ? env_data : MOODTUNES_DATA_DIR;
  double live_seconds = 10;
  long rss_requests = 10000;
  int threads = 2;
  std::vector<std::string> phases = {"photos", "live", "memory", "overload"};
  app.add_option("--binary", binary, "The moodtunes binary")->capture_default_str();
  app.add_option("--model", model, "Model: a shipped name (as moodtunes --model takes it) or FILE")->capture_default_str();
  app.add_option("--data", data, "The shared data folder (for the face photo)")->capture_default_str();
  app.add_option("--photo", photo, "The photo (default: the first of realfaces/val/happy)");
  app.add_option("--live-seconds", live_seconds, "Seconds per live phase")->capture_default_str();
  app.add_option("--requests", rss_requests, "Requests before the second RSS reading")->capture_default_str();
  app.add_option("--threads", threads, "Server analysis threads")->capture_default_str();
  app.add_option("--phases", phases, "Which phases to run")->capture_default_str()->check(
      CLI::IsMember({"photos", "live", "memory", "overload"}));
  CLI11_PARSE(app, argc, argv);
  auto run = [&](const char* phase) { return std::find(phases.begin(), phases.end(), phase) != phases.end(); };

  if (photo.empty()) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(fs::path(data) / "realfaces/val/happy")) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) { fmt::print(stderr, "no photos under {}\n", data); return 1; }
    photo = files.front().string();
  }
  const std::string jpeg = test::read_text(photo);
  const cv::Mat face = vision::read_image(photo).bgr;
  // 90 camera frames: the face (~220 px) drifting a few px a frame on a plain wall.
  std::vector<std::string> frames;
  std::vector<cv::Mat> decoded;
  for (int i = 0; i < 90; ++i) {
    cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(96, 110, 120));
    cv::Mat scaled;
    cv::resize(face, scaled, cv::Size(220, 220), 0, 0, cv::INTER_AREA);
    const int x = 200 + static_cast<int>(20 * std::sin(i / 9.0)), y = 120 + static_cast<int>(10 * std::cos(i / 13.0));
    scaled.copyTo(frame(cv::Rect(x, y, 220, 220)));
    std::vector<unsigned char> buf;
    cv::imencode(".jpg", frame, buf, {cv::IMWRITE_JPEG_QUALITY, 80});
    frames.emplace_back(buf.begin(), buf.end());
  }
  const fs::path dir = fs::temp_directory_path() / ("moodtunes-bench-server-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fmt::print("photo {} ({}x{}), model {}, server threads {}, {} cores\n", fs::path(photo).filename().string(), face.cols,
             face.rows, model, threads, std::thread::hardware_concurrency());

  // ---- baselines -------------------------------------------------------------------------------
  // In-process runs get what the server gives each analysis: cores / threads (moodtunes serve).
  cv::setNumThreads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / threads));
  std::vector<double> cli_ms;
  for (int i = 0; i < 5; ++i) {
    const auto t = Clock::now();
    const std::string cmd = "'" + binary + "' detect '" + photo + "' --model " + model + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) fmt::print(stderr, "warning: detect failed\n");
    cli_ms.push_back(ms_since(t));
  }
  const auto photo_clf = EmotionClassifier::load(app::model_path(model), kPhotoEngine);
  auto detector = vision::make_detector(vision::kDefaultDetector);
  std::vector<double> inproc_photo_ms;
  for (int i = 0; i < 10; ++i) {
    const auto t = Clock::now();
    const auto img = vision::decode_image(std::span(reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size()));
    vision::analyse_image(img.bgr, *detector, photo_clf);
    inproc_photo_ms.push_back(ms_since(t));
  }
  const auto live_clf = EmotionClassifier::load(app::model_path(model));
  std::vector<double> inproc_frame_ms;
  {
    // Paced like the camera (30 fps), as the server's frames arrive: a frame after an idle gap
    // meets colder caches than one in a tight loop, on either side of the comparison.
    vision::Pipeline pipeline(live_clf);
    const auto start = Clock::now();
    for (int round = 0; round < 3; ++round)
      for (std::size_t i = 0; i < frames.size(); ++i) {
        const double due = double(round * frames.size() + i) / 30.0 * 1000;
        if (const double now = ms_since(start); now < due)
          std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>((due - now) * 1000)));
        const auto t = Clock::now();
        const auto img = vision::decode_image(std::span(reinterpret_cast<const unsigned char*>(frames[i].data()), frames[i].size()));
        pipeline.process(img.bgr, double(round * frames.size() + i) / 30.0);
        inproc_frame_ms.push_back(ms_since(t));
      }
  }
  const double cli_p50 = percentile(cli_ms, 0.5), photo_p50 = percentile(inproc_photo_ms, 0.5),
               frame_p50 = percentile(inproc_frame_ms, 0.5),
               frame_mean = std::accumulate(inproc_frame_ms.begin(), inproc_frame_ms.end(), 0.0) / double(inproc_frame_ms.size());
  fmt::print("\nbaselines\n");
  fmt::print("  CLI detect, one process per photo     p50 {:8.1f} ms  ({:.2f} photos/s)\n", cli_p50, 1000 / cli_p50);
  fmt::print("  in-process photo (decode + analyse)   p50 {:8.1f} ms  ({:.2f} photos/s)\n", photo_p50, 1000 / photo_p50);
  fmt::print("  in-process live frame at 30 fps (decode + pipeline) mean {:5.2f} ms  p50 {:.2f} ms  p99 {:.2f} ms  ({:.0f} frames/s)\n",
             frame_mean, frame_p50, percentile(inproc_frame_ms, 0.99), 1000 / frame_mean);

  Server server({"--offline", "--model", model, "--threads", std::to_string(threads), "--catalog",
                 (dir / "no-catalog.sqlite").string()},
                dir, {}, {}, binary);
  Counts counts;
  const double rss_start = rss_mb(server);

  // ---- photos ------------------------------------------------------------------------------------
  if (run("photos")) {
  fmt::print("\nPOST /api/analyze (one photo per request)\n");
  fmt::print("  clients   p50 ms   p99 ms   photos/s   vs CLI   vs in-process   (p50/p99 of answered photos)\n");
  photos(server, jpeg, 1, 2, counts);  // warm-up: first touches of the model and detector
  for (int clients : {1, 4, 16}) {
    const long refused_before = counts.busy;
    const Load l = photos(server, jpeg, clients, std::max(2, 48 / clients), counts);
    const double rate = double(l.latencies_ms.size()) / l.seconds;
    fmt::print("  {:7}  {:7.1f}  {:7.1f}  {:9.2f}  {:6.1f}x  {:8.2f}x   {} refused (503)\n", clients, percentile(l.latencies_ms, 0.5),
               percentile(l.latencies_ms, 0.99), rate, rate * cli_p50 / 1000, rate * photo_p50 / 1000,
               counts.busy - refused_before);
  }
  }

  // ---- live ------------------------------------------------------------------------------------
  fmt::print("\nlive streams (640x480 JPEG, one face, 30 fps camera, one frame in flight)\n");
  fmt::print("  streams  frames/s each (min)   mean ms  p50 ms   p99 ms   round trip vs in-process   server's own time a frame\n");
  fmt::print("                                  (round trip)               (mean; p50)                (mean, /metrics)\n");
  double one_stream_fps = 0, one_stream_p99 = 0, four_min_fps = 0, overhead = 0, server_overhead = 0;
  for (int streams : {1, 4, 8}) {
    if (!run("live")) break;
    const auto before = frame_time(server);
    const StreamRun r = live(server, frames, streams, live_seconds, counts);
    const auto after = frame_time(server);
    const double server_ms = after.second > before.second ? 1000 * (after.first - before.first) / (after.second - before.second) : 0;
    const double mean = r.per_stream_fps.empty() ? 0 : std::accumulate(r.per_stream_fps.begin(), r.per_stream_fps.end(), 0.0) / double(r.per_stream_fps.size());
    const double min = r.per_stream_fps.empty() ? 0 : *std::min_element(r.per_stream_fps.begin(), r.per_stream_fps.end());
    const double p50 = percentile(r.rtt_ms, 0.5), p99 = percentile(r.rtt_ms, 0.99),
                 rtt_mean = r.rtt_ms.empty() ? 0 : std::accumulate(r.rtt_ms.begin(), r.rtt_ms.end(), 0.0) / double(r.rtt_ms.size());
    if (streams == 1) {
      one_stream_fps = mean;
      one_stream_p99 = p99;
      overhead = rtt_mean / frame_mean - 1;
      server_overhead = server_ms / frame_mean - 1;
    }
    if (streams == 4) four_min_fps = min;
    fmt::print("  {:7}  {:8.1f} ({:5.1f})        {:7.2f}  {:7.2f}  {:7.2f}   {:+6.1f}%; {:+.1f}%      {:6.2f} ms ({:+.1f}%)\n", streams, mean,
               min, rtt_mean, p50, p99, 100 * (rtt_mean / frame_mean - 1), 100 * (p50 / frame_p50 - 1), server_ms,
               100 * (server_ms / frame_mean - 1));
  }

  // ---- memory ----------------------------------------------------------------------------------
  double rss_1k = 0, rss_10k = 0;
  if (run("memory")) {
  churn(server, frames, jpeg, 1000, counts);
  rss_1k = rss_mb(server);
  churn(server, frames, jpeg, rss_requests, counts);
  rss_10k = rss_mb(server);
  }
  fmt::print("\nRSS: {:.1f} MB at start, {:.1f} MB after {} requests, {:.1f} MB after {} ({:+.1f}%)\n", rss_start, rss_1k, 1000L,
             rss_10k, counts.requests.load(), 100 * (rss_10k / rss_1k - 1));

  // ---- overload --------------------------------------------------------------------------------
  Counts overload;
  if (run("overload")) photos(server, jpeg, 32, 3, overload);
  fmt::print("\noverload: 32 clients x 3 photos: {} answered, {} refused with 503 ({} without Retry-After), {} other 5xx, {} other\n",
             overload.ok.load(), overload.busy.load(), overload.busy_without_retry_after.load(), overload.other_5xx.load(),
             overload.other.load());
  fmt::print("all phases: {} requests, {} 5xx other than 503\n", counts.requests.load() + overload.requests.load(),
             counts.other_5xx.load() + overload.other_5xx.load());

  fmt::print("\ntargets (2-core machine)\n");
  auto line = [](const char* what, bool ok, const std::string& got) {
    fmt::print("  {:<58} {}  {}\n", what, ok ? "met    " : "NOT MET", got);
  };
  line("one live stream >= 25 analysed frames/s, p99 round trip < 40 ms", one_stream_fps >= 25 && one_stream_p99 < 40,
       fmt::format("{:.1f} frames/s, p99 {:.1f} ms", one_stream_fps, one_stream_p99));
  line("4 streams >= 15 frames/s each", four_min_fps >= 15, fmt::format("slowest {:.1f} frames/s", four_min_fps));
  line("server overhead per analysed frame <= 15% (1 stream, mean round trip)", overhead <= 0.15,
       fmt::format("{:+.1f}%", 100 * overhead));
  line("  the same, the server's own time a frame (/metrics)", server_overhead <= 0.15,
       fmt::format("{:+.1f}%", 100 * server_overhead));
  line("RSS growth from 1,000 to 10,000 requests < 5%", rss_10k / rss_1k - 1 < 0.05,
       fmt::format("{:+.1f}%", 100 * (rss_10k / rss_1k - 1)));
  line("0 5xx other than 503 (with Retry-After) under overload",
       counts.other_5xx + overload.other_5xx + overload.busy_without_retry_after == 0,
       fmt::format("{}", counts.other_5xx.load() + overload.other_5xx.load() + overload.busy_without_retry_after.load()));
  fs::remove_all(dir);
  return 0;
}
