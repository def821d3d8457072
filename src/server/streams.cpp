#include "server/streams.hpp"

#include <algorithm>

#include "providers/spotify_auth.hpp"

namespace moodtunes::server {

Stream::Stream(std::string id, const EmotionClassifier& classifier)
    : id_(std::move(id)), opened_(std::chrono::steady_clock::now()), pipeline_(classifier) {}

Stream::Frame Stream::process(const cv::Mat& bgr, std::optional<double> time_s) {
  std::lock_guard lock(mu_);
  double t = time_s ? *time_s : std::chrono::duration<double>(std::chrono::steady_clock::now() - opened_).count();
  t = std::max(t, last_time_);
  Frame out;
  out.reading = pipeline_.process(bgr, t);
  last_time_ = t;
  out.index = ++frames_;
  out.time_s = t;
  return out;
}

StreamRegistry::StreamRegistry(std::size_t max_streams, std::chrono::milliseconds idle_timeout,
                               std::function<const EmotionClassifier&()> pick_classifier)
    : max_streams_(max_streams), idle_timeout_(idle_timeout), pick_classifier_(std::move(pick_classifier)) {}

void StreamRegistry::expire(Clock::time_point now) {
  std::erase_if(streams_, [&](const auto& kv) { return now - kv.second.last_used > idle_timeout_; });
}

std::optional<std::string> StreamRegistry::open() {
  // The id is the only credential a stream has: random_token draws it from OpenSSL's CSPRNG.
  std::string id = providers::random_token(32);
  std::lock_guard lock(mu_);
  const auto now = Clock::now();
  expire(now);
  if (streams_.size() >= max_streams_) return std::nullopt;
  streams_.emplace(id, Entry{std::make_shared<Stream>(id, pick_classifier_()), now});
  return id;
}

std::shared_ptr<Stream> StreamRegistry::find(const std::string& id) {
  std::lock_guard lock(mu_);
  const auto now = Clock::now();
  expire(now);
  const auto it = streams_.find(id);
  if (it == streams_.end()) return nullptr;
  it->second.last_used = now;
  return it->second.stream;
}

bool StreamRegistry::close(const std::string& id) {
  std::lock_guard lock(mu_);
  expire(Clock::now());
  return streams_.erase(id) > 0;
}

std::size_t StreamRegistry::size() {
  std::lock_guard lock(mu_);
  expire(Clock::now());
  return streams_.size();
}

}  // namespace moodtunes::server
