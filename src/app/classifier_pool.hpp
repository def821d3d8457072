// A pool of emotion classifiers loaded once, for a front end that reads faces on several
// threads at once (the server). One EmotionClassifier serialises its callers, so parallel
// readings need one instance each; each pooled instance also owns a photo face detector
// (vision::photo_detector: the default, and the one that also keeps lone small faces), which
// must not be shared between threads either.
//
// lease(): exclusive use of one classifier and its detector until the Lease is destroyed;
// blocks while all are leased (a caller that must not wait bounds its callers itself, e.g. the
// server's admission gate). at(i): a classifier for a long-lived user that keeps it (a video
// stream's vision::Pipeline), shared with leases and serialised by the classifier itself.
// The pool must outlive its leases and every user of at().
// Failure: the constructor throws ModelError when the model cannot be loaded.
// Thread-safety: lease(), at() and size() may be called from any thread.
#pragma once

#include <array>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "model/classifier.hpp"
#include "vision/face_detector.hpp"

namespace moodtunes::app {

class ClassifierPool {
 public:
  // `count` >= 1 instances of the model at `model_file`, on `engine` (nullopt: the fastest).
  ClassifierPool(const std::filesystem::path& model_file, std::size_t count,
                 std::optional<InferenceEngine> engine = std::nullopt);
  ClassifierPool(const ClassifierPool&) = delete;
  ClassifierPool& operator=(const ClassifierPool&) = delete;

  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), index_(other.index_) { other.pool_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    const EmotionClassifier& classifier() const;
    // The photo detector (vision::photo_detector(lone_small_faces)), created on first use.
    vision::FaceDetector& detector(bool lone_small_faces = false) const;

   private:
    friend class ClassifierPool;
    Lease(ClassifierPool* pool, std::size_t index) : pool_(pool), index_(index) {}
    ClassifierPool* pool_;
    std::size_t index_;
  };

  Lease lease();
  const EmotionClassifier& at(std::size_t i) const { return slots_.at(i % slots_.size())->classifier; }
  std::size_t size() const { return slots_.size(); }

 private:
  struct Slot {
    explicit Slot(EmotionClassifier c) : classifier(std::move(c)) {}
    EmotionClassifier classifier;
    // [0] the default photo detector, [1] with lone small faces; touched only by the leaseholder.
    std::array<std::unique_ptr<vision::FaceDetector>, 2> detectors{};
    bool leased = false;
  };
  std::vector<std::unique_ptr<Slot>> slots_;
  std::mutex mu_;
  std::condition_variable freed_;
};

}  // namespace moodtunes::app
