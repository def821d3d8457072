// Request and analysis counters of the server, rendered in the Prometheus text exposition
// format 0.0.4 for GET /metrics.
//
//   moodtunes_http_requests_total{route,method,status}       counter
//   moodtunes_http_request_duration_seconds{route}           histogram (_bucket{le}, _sum, _count)
//   moodtunes_frames_analysed_total                          counter (photos and stream frames)
//   moodtunes_faces_analysed_total                           counter
//   moodtunes_rejected_total{reason}                         counter (503s: "busy", "streams")
//   moodtunes_streams_open, moodtunes_queue_depth            gauges, sampled by the caller
// Labels: `route` must be a route PATTERN ("/api/streams/{id}/frames"), never a raw path, so the
// number of series stays bounded whatever clients send; label values are escaped.
// Thread-safety: every member may be called from any thread (one internal mutex).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace moodtunes::server {

class Metrics {
 public:
  void observe_request(std::string_view route, std::string_view method, int status, double seconds);
  void add_analysed(std::uint64_t frames, std::uint64_t faces);
  void add_rejected(std::string_view reason);
  std::string render(std::size_t streams_open, std::size_t queue_depth) const;

  // Upper bounds of the duration histogram's buckets, in seconds (+Inf implied).
  static constexpr std::array<double, 11> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // cumulative counts are built when rendering
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> durations_;
  std::map<std::string, std::uint64_t> rejected_;
  std::uint64_t frames_ = 0, faces_ = 0;
};

}  // namespace moodtunes::server
