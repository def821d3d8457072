// Live streams of the server: each open stream owns a vision::Pipeline (its face tracker and
// smoothing) bound to one classifier, and reads the frames a client uploads one by one.
//
// open(): a new stream with an unguessable id (32 characters of [A-Za-z0-9], ~190 random bits), bound to the classifier
// `pick_classifier` returns; nullopt when `max_streams` are open (after expiring idle ones).
// find(): the stream, or nullptr for an unknown, closed or expired id; marks it used.
// close(): true when the id was open. A stream not used for `idle_timeout` expires; expiry is
// checked on every call (no background thread), so an idle server keeps at most max_streams.
// Stream::process(): decodes nothing and keeps nothing: the caller passes a decoded frame,
// which is read in memory and dropped (frames are never written anywhere). Frames of one stream
// are read one at a time, in the order they take its lock; capture times are made
// non-decreasing (an earlier time is read as the last one), as the pipeline requires.
// Ownership: the registry shares each stream with the callers that hold it, so a stream closed
// or expired during a frame finishes that frame. Classifiers must outlive the registry.
// Thread-safety: every member of StreamRegistry and Stream::process() may be called from any
// thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <opencv2/core.hpp>

#include "model/classifier.hpp"
#include "vision/pipeline.hpp"

namespace moodtunes::server {

class Stream {
 public:
  Stream(std::string id, const EmotionClassifier& classifier);
  const std::string& id() const { return id_; }

  struct Frame {
    long index = 0;       // 1 for the stream's first frame
    double time_s = 0;    // the capture time the pipeline used
    vision::FrameReading reading;
  };
  // `time_s`: the capture time in seconds, or nullopt for the time since the stream opened.
  Frame process(const cv::Mat& bgr, std::optional<double> time_s);

 private:
  const std::string id_;
  const std::chrono::steady_clock::time_point opened_;
  std::mutex mu_;  // one frame at a time, in order
  vision::Pipeline pipeline_;
  long frames_ = 0;
  double last_time_ = 0;
};

class StreamRegistry {
 public:
  using Clock = std::chrono::steady_clock;
  StreamRegistry(std::size_t max_streams, std::chrono::milliseconds idle_timeout,
                 std::function<const EmotionClassifier&()> pick_classifier);

  std::optional<std::string> open();
  std::shared_ptr<Stream> find(const std::string& id);
  bool close(const std::string& id);
  std::size_t size();
  std::chrono::milliseconds idle_timeout() const { return idle_timeout_; }

 private:
  struct Entry {
    std::shared_ptr<Stream> stream;
    Clock::time_point last_used;
  };
  void expire(Clock::time_point now);  // with mu_ held
  const std::size_t max_streams_;
  const std::chrono::milliseconds idle_timeout_;
  std::function<const EmotionClassifier&()> pick_classifier_;
  std::mutex mu_;
  std::map<std::string, Entry> streams_;
};

}  // namespace moodtunes::server
