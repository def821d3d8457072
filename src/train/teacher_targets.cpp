#include "train/teacher_targets.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#ifndef MOODTUNES_TRAINER_ONLY  // the GPU build (scripts/device) carries no OpenCV DNN
#include "model/classifier.hpp"
#endif

namespace fs = std::filesystem;

namespace moodtunes {

#ifndef MOODTUNES_TRAINER_ONLY
namespace {

// FNV-1a: fingerprints of the teacher file and the training faces a target cache was computed for.
constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ull;
std::uint64_t fnv1a(std::uint64_t h, const unsigned char* bytes, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= bytes[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

std::uint64_t file_fingerprint(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::uint64_t h = kFnvOffset;
  std::vector<char> buf(1 << 16);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
    h = fnv1a(h, reinterpret_cast<const unsigned char*>(buf.data()), static_cast<std::size_t>(in.gcount()));
  return h;
}

std::uint64_t data_fingerprint(const FerDataset& data) {
  std::uint64_t h = kFnvOffset;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const cv::Mat& image = data.images[i];
    for (int r = 0; r < image.rows; ++r) h = fnv1a(h, image.ptr<unsigned char>(r), static_cast<std::size_t>(image.cols));
    h = fnv1a(h, reinterpret_cast<const unsigned char*>(&data.labels[i]), sizeof(data.labels[i]));
  }
  return h;
}

}  // namespace

// The teacher's reading of every training face (N x 7 probabilities), from the cache when it
// was computed with the same teacher file, views and data; computed and cached otherwise.
torch::Tensor teacher_targets(const FerDataset& train, const fs::path& teacher, const std::string& tta_name,
                              const fs::path& cache) {
  const TestTimeAugmentation tta = parse_tta(tta_name);
  const std::string key = fmt::format("moodtunes-teacher-v2 {:016x} {} {} {:016x}", file_fingerprint(teacher), tta_name,
                                      train.size(), data_fingerprint(train));
  const auto n = static_cast<long>(train.size());
  auto targets = torch::empty({n, static_cast<long>(kNumEmotions)});
  const auto bytes = static_cast<std::streamsize>(targets.numel() * static_cast<long>(sizeof(float)));
  if (std::ifstream in(cache, std::ios::binary); in) {
    std::string header;
    std::getline(in, header);
    if (header == key && in.read(reinterpret_cast<char*>(targets.data_ptr<float>()), bytes) && in.gcount() == bytes) {
      spdlog::info("teacher targets: {} ({} views) read from {}", teacher.string(), tta_name, cache.string());
      return targets;
    }
    spdlog::info("teacher targets: {} is for another teacher or data; recomputing", cache.string());
  }
  const auto classifier = EmotionClassifier::load(teacher);
  const auto started = std::chrono::steady_clock::now();
  constexpr long kChunk = 512;
  for (long start = 0; start < n; start += kChunk) {
    const long end = std::min(n, start + kChunk);
    const std::vector<cv::Mat> faces(train.images.begin() + start, train.images.begin() + end);
    const auto probs = classifier.classify_batch(faces, tta);
    // Rows are contiguous floats: a copy per face, not a tensor operation per element.
    for (long i = start; i < end; ++i)
      std::copy(probs[static_cast<std::size_t>(i - start)].begin(), probs[static_cast<std::size_t>(i - start)].end(),
                targets.data_ptr<float>() + i * static_cast<long>(kNumEmotions));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("teacher targets: {}/{} faces ({} views), {:.0f} faces/s", end, n, tta_name, double(end) / secs);
  }
  fs::create_directories(cache.parent_path());
  std::ofstream out(cache, std::ios::binary | std::ios::trunc);
  out << key << '\n';
  out.write(reinterpret_cast<const char*>(targets.data_ptr<float>()), bytes);
  if (!out) throw std::runtime_error("cannot write " + cache.string());
  return targets;
}
#else
torch::Tensor teacher_targets(const FerDataset&, const fs::path&, const std::string&, const fs::path&) {
  throw std::invalid_argument(
      "distillation (--teacher) needs the full build: the trainer-only GPU build has no OpenCV DNN to read the teacher");
}
#endif

}  // namespace moodtunes
