#include "model/metrics.hpp"

#include <stdexcept>

namespace moodtunes {

void ConfusionMatrix::add(int truth, int predicted) {
  constexpr int n = static_cast<int>(kNumEmotions);
  if (truth < 0 || truth >= n || predicted < 0 || predicted >= n)
    throw std::out_of_range("ConfusionMatrix::add: class index out of range");
  ++cells_[truth][predicted];
}

std::int64_t ConfusionMatrix::count() const {
  std::int64_t total = 0;
  for (const auto& row : cells_)
    for (auto v : row) total += v;
  return total;
}

double ConfusionMatrix::accuracy() const {
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < kNumEmotions; ++i) correct += cells_[i][i];
  const auto total = count();
  return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0;
}

double ConfusionMatrix::precision(int cls) const {
  std::int64_t predicted = 0;
  for (std::size_t t = 0; t < kNumEmotions; ++t) predicted += cells_[t][cls];
  return predicted ? static_cast<double>(cells_[cls][cls]) / static_cast<double>(predicted) : 0.0;
}

double ConfusionMatrix::recall(int cls) const {
  std::int64_t actual = 0;
  for (auto v : cells_[cls]) actual += v;
  return actual ? static_cast<double>(cells_[cls][cls]) / static_cast<double>(actual) : 0.0;
}

double ConfusionMatrix::f1(int cls) const {
  const double p = precision(cls), r = recall(cls);
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

double ConfusionMatrix::macro_f1() const {
  double sum = 0;
  for (std::size_t c = 0; c < kNumEmotions; ++c) sum += f1(static_cast<int>(c));
  return sum / static_cast<double>(kNumEmotions);
}

nlohmann::json ConfusionMatrix::to_json() const {
  nlohmann::json j;
  j["accuracy"] = accuracy();
  j["macro_f1"] = macro_f1();
  j["count"] = count();
  j["classes"] = kEmotionNames;
  nlohmann::json per_class = nlohmann::json::object();
  for (std::size_t c = 0; c < kNumEmotions; ++c) {
    std::int64_t support = 0;
    for (auto v : cells_[c]) support += v;
    const int ci = static_cast<int>(c);
    per_class[std::string(kEmotionNames[c])] = {
        {"precision", precision(ci)}, {"recall", recall(ci)}, {"f1", f1(ci)}, {"support", support}};
  }
  j["per_class"] = per_class;
  j["confusion"] = cells_;
  return j;
}

}  // namespace moodtunes
