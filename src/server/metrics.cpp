#include "server/metrics.hpp"

#include <fmt/format.h>
#include <cstdio>

namespace moodtunes::server {

namespace {
// Label values in the text format escape backslash, double quote and newline.
std::string escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string number(double v) { return fmt::format("{:.9g}", v); }
}  // namespace

void Metrics::observe_request(std::string_view route, std::string_view method, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(route), std::string(method), status}];
  auto& h = durations_[std::string(route)];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::add_analysed(std::uint64_t frames, std::uint64_t faces) {
  std::lock_guard lock(mu_);
  frames_ += frames;
  faces_ += faces;
}

void Metrics::add_rejected(std::string_view reason) {
  std::lock_guard lock(mu_);
  ++rejected_[std::string(reason)];
}

std::string Metrics::render(std::size_t streams_open, std::size_t queue_depth) const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP moodtunes_http_requests_total HTTP requests answered, by route pattern, method and status.\n";
  out += "# TYPE moodtunes_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out += "moodtunes_http_requests_total{route=\"" + escape(route) + "\",method=\"" + escape(method) + "\",status=\"" +
           std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP moodtunes_http_request_duration_seconds Time from reading a request's headers to sending its response.\n";
  out += "# TYPE moodtunes_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : durations_) {
    const std::string label = "route=\"" + escape(route) + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      out += "moodtunes_http_request_duration_seconds_bucket{" + label + ",le=\"" + number(kBuckets[i]) + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "moodtunes_http_request_duration_seconds_bucket{" + label + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += "moodtunes_http_request_duration_seconds_sum{" + label + "} " + number(h.sum) + "\n";
    out += "moodtunes_http_request_duration_seconds_count{" + label + "} " + std::to_string(h.count) + "\n";
  }
  auto single = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  single("moodtunes_frames_analysed_total", "counter", "Images analysed: uploaded photos and live stream frames.", frames_);
  single("moodtunes_faces_analysed_total", "counter", "Faces read in those images.", faces_);
  single("moodtunes_streams_open", "gauge", "Live streams open now.", streams_open);
  single("moodtunes_queue_depth", "gauge", "Analysis requests waiting for a worker now.", queue_depth);
  out += "# HELP moodtunes_rejected_total Requests refused with 503 because the server was at capacity, by reason.\n";
  out += "# TYPE moodtunes_rejected_total counter\n";
  for (const char* reason : {"busy", "streams"}) {
    const auto it = rejected_.find(reason);
    out += std::string("moodtunes_rejected_total{reason=\"") + reason + "\"} " +
           std::to_string(it == rejected_.end() ? 0 : it->second) + "\n";
  }
  return out;
}

}  // namespace moodtunes::server
