// The .mtm model file: a trained emotion network in inference form (BatchNorm folded into
// the convolutions), readable without LibTorch.
//
// Layout: the line "MOODTUNES-MODEL 1\n", then the byte length of a JSON header as a decimal
// line, the JSON header (architecture, class names, input size, preprocessing id, training
// info, tensor table), then the little-endian float32 tensors back to back.
// Tensor names: <conv>.weight [out,in,k,k] and <conv>.bias [out] for each convolution of
// ArchSpec::convs() (stem, s<stage>b<block>.conv1/.conv2/.proj), fc1.weight [hidden,flat], fc1.bias, fc2.weight [7,hidden], fc2.bias.
//
// An ensemble file holds several such networks, trained apart, that read the same face (the
// classifier averages their probabilities): the line "MOODTUNES-ENSEMBLE 1\n", the header
// length, a JSON header (class names, input size, preprocessing id, the ensemble's info, the
// tensor storage "float32" | "float16", and per member its architecture, info and tensor table),
// then every member's tensors in order, little-endian.
//
// save_model_file() and save_ensemble_file() write a temporary file and rename it, so a reader
// never sees half a model. The loaders validate everything (magic, sizes, classes,
// preprocessing) and throw ModelError with the reason. All are reentrant.
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

// Identifies preprocess/preprocess.hpp's transform; bump when it changes so old models are refused.
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

// How an ensemble file stores tensor values. Float16 halves the file (two members of the
// shipped architecture fit the 20 MB budget); values are rounded to the nearest half, a relative
// change below 5e-4, and read back as float32.
enum class TensorStorage { kFloat32, kFloat16 };

struct ModelEnsemble {
  nlohmann::json info = nlohmann::json::object();  // what the ensemble is: members' sources, val metrics, ...
  std::vector<ModelFile> members;                   // one or more networks; each member's info is its own
  TensorStorage storage = TensorStorage::kFloat16;   // as read from the file / to write
  // load_ensemble_file() read it from a single-network file: a tool that rewrites the file
  // (quantize) writes that kind back with save_model_file(members.front()).
  bool single_network_file = false;
};

void save_model_file(const ModelFile& model, const std::filesystem::path& path);
// A single network. An ensemble file of one member reads as that member; one of several members
// throws ModelError (use load_ensemble_file()).
ModelFile load_model_file(const std::filesystem::path& path);

// Requires at least one member, each with the tensors its architecture needs.
void save_ensemble_file(const ModelEnsemble& ensemble, const std::filesystem::path& path);
// Rounds every member's tensors as `ensemble.storage` stores them (float16: to the nearest half;
// float32: unchanged), so that the ensemble in memory reads exactly as its file will.
void round_to_storage(ModelEnsemble& ensemble);
// Either kind of file: a single-network file reads as an ensemble of one (storage Float32, info
// the network's own).
ModelEnsemble load_ensemble_file(const std::filesystem::path& path);
// Whether `path` starts like an ensemble file (false for a missing or other file).
bool is_ensemble_file(const std::filesystem::path& path);

}  // namespace moodtunes
