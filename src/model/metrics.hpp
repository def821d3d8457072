// Classification metrics over the 7 emotions: confusion matrix, accuracy, per-class
// precision / recall / F1, macro-F1. A plain value type; not synchronised.
#pragma once

#include <array>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/emotion.hpp"

namespace moodtunes {

class ConfusionMatrix {
 public:
  void add(int truth, int predicted);  // indices into kEmotionNames; throws out_of_range
  std::int64_t count() const;
  std::int64_t at(int truth, int predicted) const { return cells_[truth][predicted]; }
  double accuracy() const;
  double precision(int cls) const;  // 0 when the class was never predicted
  double recall(int cls) const;     // 0 when the class never occurs
  double f1(int cls) const;
  double macro_f1() const;
  // {"accuracy","macro_f1","count","per_class":{name:{precision,recall,f1,support}},"confusion":[[...]],"classes":[...]}
  nlohmann::json to_json() const;

 private:
  std::array<std::array<std::int64_t, kNumEmotions>, kNumEmotions> cells_{};
};

}  // namespace moodtunes
