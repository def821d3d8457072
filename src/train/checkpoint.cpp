#include "train/checkpoint.hpp"

#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace moodtunes {

void write_checkpoint(const fs::path& path, const EmotionNet& net, const torch::optim::Optimizer& optimizer,
                      const nlohmann::json& state, const WeightAverage& average) {
  torch::serialize::OutputArchive archive, model_archive, optim_archive;
  net->save(model_archive);
  optimizer.save(optim_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optim_archive);
  archive.write("state", c10::IValue(state.dump()));
  if (average.count() > 0) {
    torch::serialize::OutputArchive swa_archive;
    average.save(swa_archive);
    archive.write("swa", swa_archive);
  }
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp";
  archive.save_to(tmp.string());
  fs::rename(tmp, path);  // a crash mid-write never destroys the last good checkpoint
}

nlohmann::json read_checkpoint_state(torch::serialize::InputArchive& archive, const fs::path& path, torch::Device device) {
  archive.load_from(path.string(), device);
  c10::IValue state_value;
  archive.read("state", state_value);
  return nlohmann::json::parse(state_value.toStringRef());
}

ModelFile to_model_file(const EmotionNet& net, const nlohmann::json& info) {
  torch::NoGradGuard no_grad;
  ModelFile m;
  m.arch = net->arch;
  m.info = info;
  auto put = [&](const std::string& name, const torch::Tensor& t) {
    auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    NamedTensor nt{name, {}, std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())};
    for (auto d : c.sizes()) nt.shape.push_back(static_cast<int>(d));
    m.tensors.push_back(std::move(nt));
  };
  for (const auto& [name, unit] : net->units) {
    const auto& bn = unit->bn;
    auto scale = bn->weight / torch::sqrt(bn->running_var + bn->options.eps());
    put(name + ".weight", unit->conv->weight * scale.view({-1, 1, 1, 1}));
    put(name + ".bias", bn->bias - bn->running_mean * scale);
  }
  put("fc1.weight", net->fc1->weight);
  put("fc1.bias", net->fc1->bias);
  put("fc2.weight", net->fc2->weight);
  put("fc2.bias", net->fc2->bias);
  return m;
}

void load_folded_weights(EmotionNet& net, const ModelFile& model) {
  torch::NoGradGuard no_grad;
  auto load = [&](torch::Tensor dst, const std::string& name) {
    const auto& t = model.tensor(name);
    if (static_cast<std::size_t>(dst.numel()) != t.data.size()) throw ModelError("shape mismatch for " + name);
    dst.copy_(torch::from_blob(const_cast<float*>(t.data.data()), dst.sizes()));
  };
  for (auto& [name, unit] : net->units) {
    load(unit->conv->weight, name + ".weight");
    load(unit->bn->bias, name + ".bias");
    unit->bn->weight.fill_(1.0);
    unit->bn->running_mean.zero_();
    unit->bn->running_var.fill_(1.0 - unit->bn->options.eps());
  }
  load(net->fc1->weight, "fc1.weight");
  load(net->fc1->bias, "fc1.bias");
  load(net->fc2->weight, "fc2.weight");
  load(net->fc2->bias, "fc2.bias");
}

}  // namespace moodtunes
