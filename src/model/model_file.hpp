// The .mtm model file: a trained emotion network in inference form (BatchNorm folded into
// the convolutions), readable without LibTorch.
//
// Layout: the line "MOODTUNES-MODEL 1\n", then the byte length of a JSON header as a decimal
// line, the JSON header (architecture, class names, input size, preprocessing id, training
// info, tensor table), then the little-endian float32 tensors back to back.
// Tensor names: conv<k>.weight [out,in,3,3], conv<k>.bias [out] (k counts convs from 0),
// fc1.weight [hidden,flat], fc1.bias, fc2.weight [7,hidden], fc2.bias.
//
// save_model_file() writes a temporary file and renames it, so a reader never sees half a
// model. load_model_file() validates everything (magic, sizes, classes, preprocessing) and
// throws ModelError with the reason. Both are reentrant.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/arch.hpp"

namespace moodtunes {

class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Identifies core/preprocess.hpp's transform; bump when it changes so old models are refused.
inline constexpr const char* kPreprocessId = "gray48-standardize-v1";

struct NamedTensor {
  std::string name;
  std::vector<int> shape;
  std::vector<float> data;
};

struct ModelFile {
  ArchSpec arch;
  nlohmann::json info = nlohmann::json::object();  // training command, metrics, ...
  std::vector<NamedTensor> tensors;

  const NamedTensor& tensor(const std::string& name) const;  // throws ModelError if absent
};

void save_model_file(const ModelFile& model, const std::filesystem::path& path);
ModelFile load_model_file(const std::filesystem::path& path);

}  // namespace moodtunes
