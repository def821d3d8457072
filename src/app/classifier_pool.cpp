#include "app/classifier_pool.hpp"

#include <stdexcept>

namespace moodtunes::app {

ClassifierPool::ClassifierPool(const std::filesystem::path& model_file, std::size_t count,
                               std::optional<InferenceEngine> engine) {
  if (count == 0) throw std::invalid_argument("a classifier pool needs at least one classifier");
  slots_.reserve(count);
  for (std::size_t i = 0; i < count; ++i)
    slots_.push_back(std::make_unique<Slot>(EmotionClassifier::load(model_file, engine)));
}

ClassifierPool::Lease ClassifierPool::lease() {
  std::unique_lock lock(mu_);
  for (;;) {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (!slots_[i]->leased) {
        slots_[i]->leased = true;
        return Lease(this, i);
      }
    }
    freed_.wait(lock);
  }
}

ClassifierPool::Lease::~Lease() {
  if (pool_ == nullptr) return;
  {
    std::lock_guard lock(pool_->mu_);
    pool_->slots_[index_]->leased = false;
  }
  pool_->freed_.notify_one();
}

const EmotionClassifier& ClassifierPool::Lease::classifier() const { return pool_->slots_[index_]->classifier; }

vision::FaceDetector& ClassifierPool::Lease::detector(bool lone_small_faces) const {
  auto& d = pool_->slots_[index_]->detectors[lone_small_faces ? 1 : 0];
  if (!d) d = vision::make_detector(vision::photo_detector(lone_small_faces));
  return *d;
}

}  // namespace moodtunes::app
