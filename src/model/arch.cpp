#include "model/arch.hpp"

#include <stdexcept>

#include "core/emotion.hpp"
#include "preprocess/preprocess.hpp"

namespace moodtunes {

ArchSpec ArchSpec::standard() { return ArchSpec{32, {{32, 1}, {64, 1}, {128, 1}, {256, 1}}, 256, 0.3f}; }

ArchSpec ArchSpec::deep() { return ArchSpec{32, {{32, 1}, {64, 1}, {128, 2}, {256, 2}}, 256, 0.3f}; }

ArchSpec ArchSpec::fast() { return ArchSpec{16, {{16, 1}, {48, 1}, {96, 2}, {192, 2}}, 256, 0.3f}; }

ArchSpec ArchSpec::tiny() { return ArchSpec{8, {{8, 1}, {16, 1}, {16, 1}}, 32, 0.1f}; }

ArchSpec ArchSpec::by_name(const std::string& name) {
  if (name == "standard") return standard();
  if (name == "deep") return deep();
  if (name == "fast") return fast();
  if (name == "tiny") return tiny();
  throw std::invalid_argument("unknown architecture '" + name + "' (standard | deep | fast | tiny)");
}

std::string block_name(std::size_t stage, int block) {
  // Appending (not "s" + std::string&&) avoids GCC 12's false -Wrestrict warning (GCC bug 105329).
  std::string name = "s";
  name += std::to_string(stage);
  name += 'b';
  name += std::to_string(block);
  return name;
}

std::vector<ArchSpec::ConvRef> ArchSpec::convs() const {
  std::vector<ConvRef> out;
  int side = kFaceSize, in = stem;
  out.push_back({"stem", 1, stem, 3, side});
  for (std::size_t s = 0; s < stages.size(); ++s) {
    for (int b = 0; b < stages[s].blocks; ++b) {
      const std::string name = block_name(s, b);
      const int c = stages[s].channels;
      out.push_back({name + ".conv1", in, c, 3, side});
      out.push_back({name + ".conv2", c, c, 3, side});
      if (in != c) out.push_back({name + ".proj", in, c, 1, side});
      in = c;
    }
    side /= 2;
  }
  return out;
}

int ArchSpec::final_channels() const { return stages.empty() ? stem : stages.back().channels; }

int ArchSpec::final_spatial() const {
  int side = kFaceSize;
  for (std::size_t i = 0; i < stages.size(); ++i) side /= 2;
  return side;
}

std::int64_t ArchSpec::parameter_count() const {
  std::int64_t params = 0;
  for (const auto& c : convs()) params += static_cast<std::int64_t>(c.in) * c.out * c.kernel * c.kernel + 2 * c.out;
  const std::int64_t flat = static_cast<std::int64_t>(final_channels()) * final_spatial() * final_spatial();
  return params + flat * fc_hidden + fc_hidden + static_cast<std::int64_t>(fc_hidden) * kNumEmotions + kNumEmotions;
}

double ArchSpec::gflops() const {
  double macs = 0;
  for (const auto& c : convs()) macs += double(c.side) * c.side * c.in * c.out * c.kernel * c.kernel;
  macs += double(final_channels()) * final_spatial() * final_spatial() * fc_hidden + double(fc_hidden) * kNumEmotions;
  return 2 * macs / 1e9;
}

nlohmann::json ArchSpec::to_json() const {
  nlohmann::json st = nlohmann::json::array();
  for (const auto& s : stages) st.push_back({{"channels", s.channels}, {"blocks", s.blocks}});
  return {{"type", "resnet"}, {"stem", stem}, {"stages", st}, {"fc_hidden", fc_hidden}, {"dropout", dropout}};
}

ArchSpec ArchSpec::from_json(const nlohmann::json& j) {
  ArchSpec a;
  try {
    if (j.value("type", "") != "resnet") throw std::invalid_argument("unknown architecture type");
    a.stem = j.at("stem").get<int>();
    a.stages.clear();
    for (const auto& s : j.at("stages")) a.stages.push_back({s.at("channels").get<int>(), s.at("blocks").get<int>()});
    a.fc_hidden = j.at("fc_hidden").get<int>();
    a.dropout = j.value("dropout", 0.0f);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("bad architecture description: ") + e.what());
  }
  if (a.stages.empty() || a.fc_hidden <= 0 || a.final_spatial() < 1 || a.stem <= 0 || a.stem > 4096)
    throw std::invalid_argument("bad architecture description: no stages or too many pooling stages");
  for (const auto& s : a.stages)
    if (s.channels <= 0 || s.channels > 4096 || s.blocks < 1 || s.blocks > 64)
      throw std::invalid_argument("bad architecture description: channels/blocks out of range");
  return a;
}

}  // namespace moodtunes
