#include "model/arch.hpp"

#include <stdexcept>

#include "core/emotion.hpp"
#include "core/preprocess.hpp"

namespace moodtunes {

ArchSpec ArchSpec::standard() {
  return ArchSpec{{{32, 32}, {64, 64}, {128, 128, 128}, {256, 256, 256}}, 256, 0.4f};
}

ArchSpec ArchSpec::tiny() { return ArchSpec{{{8}, {16}, {16}}, 32, 0.1f}; }

int ArchSpec::final_channels() const {
  int c = 1;
  for (const auto& stage : stages)
    for (int out : stage) c = out;
  return c;
}

int ArchSpec::final_spatial() const {
  int side = kFaceSize;
  for (std::size_t i = 0; i < stages.size(); ++i) side /= 2;
  return side;
}

std::int64_t ArchSpec::parameter_count() const {
  std::int64_t params = 0;
  int in = 1;
  for (const auto& stage : stages)
    for (int out : stage) {
      params += static_cast<std::int64_t>(in) * out * 9 + 2 * out;  // conv (no bias) + BN affine
      in = out;
    }
  const std::int64_t flat = static_cast<std::int64_t>(in) * final_spatial() * final_spatial();
  params += flat * fc_hidden + fc_hidden + static_cast<std::int64_t>(fc_hidden) * kNumEmotions + kNumEmotions;
  return params;
}

double ArchSpec::gflops() const {
  double macs = 0;
  int in = 1, side = kFaceSize;
  for (const auto& stage : stages) {
    for (int out : stage) {
      macs += static_cast<double>(side) * side * in * out * 9;
      in = out;
    }
    side /= 2;
  }
  macs += static_cast<double>(in) * side * side * fc_hidden + static_cast<double>(fc_hidden) * kNumEmotions;
  return 2 * macs / 1e9;
}

nlohmann::json ArchSpec::to_json() const {
  return {{"stages", stages}, {"fc_hidden", fc_hidden}, {"dropout", dropout}};
}

ArchSpec ArchSpec::from_json(const nlohmann::json& j) {
  ArchSpec a;
  try {
    a.stages = j.at("stages").get<std::vector<std::vector<int>>>();
    a.fc_hidden = j.at("fc_hidden").get<int>();
    a.dropout = j.value("dropout", 0.0f);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("bad architecture description: ") + e.what());
  }
  if (a.stages.empty() || a.fc_hidden <= 0 || a.final_spatial() < 1)
    throw std::invalid_argument("bad architecture description: no stages or too many pooling stages");
  for (const auto& s : a.stages)
    for (int c : s)
      if (c <= 0 || c > 4096) throw std::invalid_argument("bad architecture description: channel count");
  return a;
}

}  // namespace moodtunes
