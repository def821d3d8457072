#include "model/model_file.hpp"

#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <optional>

#include <opencv2/core.hpp>

#include "core/emotion.hpp"
#include "preprocess/preprocess.hpp"

namespace fs = std::filesystem;

namespace moodtunes {

namespace {
constexpr const char* kMagic = "MOODTUNES-MODEL 1";
constexpr const char* kEnsembleMagic = "MOODTUNES-ENSEMBLE 1";
constexpr std::size_t kMaxHeader = 1 << 20;
constexpr std::uintmax_t kMaxModelBytes = 512ull << 20;

std::size_t element_count(const std::vector<int>& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::size_t{1},
                         [](std::size_t a, int b) { return a * static_cast<std::size_t>(b); });
}

// The element count of a shape read from a file, or nullopt when a dimension is not positive or
// the product passes `limit` (checked before each multiplication, so it cannot wrap).
std::optional<std::size_t> checked_count(const std::vector<int>& shape, std::size_t limit) {
  std::size_t n = 1;
  for (int d : shape) {
    if (d <= 0 || n > limit / static_cast<std::size_t>(d)) return std::nullopt;
    n *= static_cast<std::size_t>(d);
  }
  return n;
}

std::string shape_text(const std::vector<int>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// Every tensor the architecture reads, with its shape (model_file.hpp names them).
std::map<std::string, std::vector<int>> expected_shapes(const ArchSpec& arch) {
  std::map<std::string, std::vector<int>> shapes;
  for (const auto& c : arch.convs()) {
    shapes[c.name + ".weight"] = {c.out, c.in, c.kernel, c.kernel};
    shapes[c.name + ".bias"] = {c.out};
  }
  const int flat = arch.final_channels() * arch.final_spatial() * arch.final_spatial();
  shapes["fc1.weight"] = {arch.fc_hidden, flat};
  shapes["fc1.bias"] = {arch.fc_hidden};
  shapes["fc2.weight"] = {kNumEmotions, arch.fc_hidden};
  shapes["fc2.bias"] = {kNumEmotions};
  return shapes;
}

const char* storage_name(TensorStorage storage) { return storage == TensorStorage::kFloat16 ? "float16" : "float32"; }

// The header keys every model file shares: what the network reads and in which class order.
void describe_input(nlohmann::json& header) {
  header["classes"] = kEmotionNames;
  header["input_size"] = kFaceSize;
  header["preprocess"] = kPreprocessId;
}

void check_input(const nlohmann::json& header, const std::string& path) {
  if (header.at("classes").get<std::vector<std::string>>() !=
      std::vector<std::string>(kEmotionNames.begin(), kEmotionNames.end()))
    throw ModelError(path + ": model classes differ from this build's emotion list");
  if (header.at("input_size").get<int>() != kFaceSize)
    throw ModelError(path + ": model input size differs from " + std::to_string(kFaceSize));
  if (header.at("preprocess").get<std::string>() != kPreprocessId)
    throw ModelError(path + ": model was trained with preprocessing '" + header.at("preprocess").get<std::string>() +
                     "', this build uses " + kPreprocessId);
}

nlohmann::json tensor_table(const ModelFile& model) {
  auto table = nlohmann::json::array();
  for (const auto& t : model.tensors) {
    if (element_count(t.shape) != t.data.size()) throw ModelError("tensor " + t.name + ": shape/data mismatch");
    table.push_back({{"name", t.name}, {"shape", t.shape}});
  }
  return table;
}

// `values` rounded to the nearest half (CV_16F, 1 x n), as float16 storage writes them.
cv::Mat to_float16(const std::vector<float>& values) {
  cv::Mat half;
  cv::Mat(1, static_cast<int>(values.size()), CV_32F, const_cast<float*>(values.data())).convertTo(half, CV_16F);
  return half;
}

void write_tensors(std::ostream& out, const ModelFile& model, TensorStorage storage) {
  for (const auto& t : model.tensors) {
    if (storage == TensorStorage::kFloat32) {
      out.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size() * sizeof(float)));
      continue;
    }
    const cv::Mat half = to_float16(t.data);
    out.write(reinterpret_cast<const char*>(half.data), static_cast<std::streamsize>(half.total() * half.elemSize()));
  }
}

// Reads a member's tensors. Each table entry is checked against the architecture and against
// the bytes left in the file BEFORE its buffer is allocated, so a hostile header cannot make the
// loader allocate more than the file holds.
std::vector<NamedTensor> read_tensors(std::istream& in, std::uintmax_t file_size, const nlohmann::json& table,
                                      const ArchSpec& arch, TensorStorage storage, const std::string& path) {
  std::vector<NamedTensor> tensors;
  const std::size_t value_bytes = storage == TensorStorage::kFloat16 ? 2 : 4;
  auto expected = expected_shapes(arch);
  for (const auto& entry : table) {
    NamedTensor t;
    t.name = entry.at("name").get<std::string>();
    t.shape = entry.at("shape").get<std::vector<int>>();
    const auto want = expected.find(t.name);
    if (want == expected.end()) throw ModelError(path + ": tensor " + t.name + " is not part of the architecture");
    if (t.shape != want->second)
      throw ModelError(path + ": tensor " + t.name + " has shape " + shape_text(t.shape) + ", the architecture needs " +
                       shape_text(want->second));
    expected.erase(want);
    const auto n = checked_count(t.shape, kMaxModelBytes / value_bytes);
    if (!n) throw ModelError(path + ": tensor " + t.name + " is too large");
    const auto at = in.tellg();
    const std::uintmax_t left = at < 0 ? 0 : file_size - static_cast<std::uintmax_t>(at);
    if (*n * value_bytes > left)
      throw ModelError(path + ": truncated tensor data (" + t.name + " needs " + std::to_string(*n * value_bytes) +
                       " bytes, " + std::to_string(left) + " left in the file)");
    t.data.resize(*n);
    if (storage == TensorStorage::kFloat32) {
      if (!in.read(reinterpret_cast<char*>(t.data.data()), static_cast<std::streamsize>(*n * sizeof(float))))
        throw ModelError(path + ": truncated tensor data (" + t.name + ")");
    } else {
      cv::Mat half(1, static_cast<int>(*n), CV_16F);
      if (!in.read(reinterpret_cast<char*>(half.data), static_cast<std::streamsize>(*n * 2)))
        throw ModelError(path + ": truncated tensor data (" + t.name + ")");
      cv::Mat full(1, static_cast<int>(*n), CV_32F, t.data.data());
      half.convertTo(full, CV_32F);  // into t.data: same size and type, so no reallocation
    }
    tensors.push_back(std::move(t));
  }
  if (!expected.empty()) throw ModelError(path + ": model file lacks tensor " + expected.begin()->first);
  return tensors;
}

void write_atomically(const fs::path& path, const std::string& magic, const std::string& header,
                      const std::function<void(std::ostream&)>& write_data) {
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw ModelError("cannot write " + tmp.string());
    out << magic << '\n' << header.size() << '\n' << header;
    write_data(out);
    out.flush();
    if (!out) throw ModelError("write failed: " + tmp.string());
  }
  fs::rename(tmp, path);
}

// Opens `path`, checks its size, and reads the magic line and the JSON header.
struct OpenedFile {
  std::ifstream in;
  std::uintmax_t size = 0;
  std::string magic;
  nlohmann::json header;
};

OpenedFile open_model(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw ModelError(path.string() + " is a folder, not a model (.mtm) file");
  const auto file_size = fs::file_size(path, ec);
  if (ec) throw ModelError("model file not found: " + path.string());
  if (file_size > kMaxModelBytes) throw ModelError("model file too large: " + path.string());
  OpenedFile f;
  f.size = file_size;
  f.in.open(path, std::ios::binary);
  if (!f.in) throw ModelError("cannot open model file: " + path.string());
  std::string length_line;
  std::getline(f.in, f.magic);
  if (f.magic != kMagic && f.magic != kEnsembleMagic)
    throw ModelError(path.string() + " is not a moodtunes model (.mtm) file");
  std::getline(f.in, length_line);
  std::size_t header_len = 0;
  try {
    header_len = std::stoul(length_line);
  } catch (const std::exception&) {
    throw ModelError(path.string() + ": corrupt header length");
  }
  if (header_len == 0 || header_len > kMaxHeader) throw ModelError(path.string() + ": corrupt header length");
  std::string text(header_len, '\0');
  if (!f.in.read(text.data(), static_cast<std::streamsize>(header_len)))
    throw ModelError(path.string() + ": truncated header");
  try {
    f.header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(path.string() + ": corrupt header: " + e.what());
  }
  return f;
}
}  // namespace

const NamedTensor& ModelFile::tensor(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return t;
  throw ModelError("model file lacks tensor " + name);
}

void save_model_file(const ModelFile& model, const fs::path& path) {
  nlohmann::json header;
  header["arch"] = model.arch.to_json();
  describe_input(header);
  header["info"] = model.info;
  header["tensors"] = tensor_table(model);
  write_atomically(path, kMagic, header.dump(),
                   [&](std::ostream& out) { write_tensors(out, model, TensorStorage::kFloat32); });
}

void save_ensemble_file(const ModelEnsemble& ensemble, const fs::path& path) {
  if (ensemble.members.empty()) throw ModelError("an ensemble needs at least one network");
  nlohmann::json header;
  describe_input(header);
  header["info"] = ensemble.info;
  header["storage"] = storage_name(ensemble.storage);
  auto& members = header["members"] = nlohmann::json::array();
  for (const auto& m : ensemble.members)
    members.push_back({{"arch", m.arch.to_json()}, {"info", m.info}, {"tensors", tensor_table(m)}});
  write_atomically(path, kEnsembleMagic, header.dump(), [&](std::ostream& out) {
    for (const auto& m : ensemble.members) write_tensors(out, m, ensemble.storage);
  });
}

void round_to_storage(ModelEnsemble& ensemble) {
  if (ensemble.storage != TensorStorage::kFloat16) return;
  for (auto& member : ensemble.members)
    for (auto& t : member.tensors) {
      if (t.data.empty()) continue;
      cv::Mat values(1, static_cast<int>(t.data.size()), CV_32F, t.data.data());
      to_float16(t.data).convertTo(values, CV_32F);  // back into t.data: same size and type, so no reallocation
    }
}

ModelEnsemble load_ensemble_file(const fs::path& path) {
  OpenedFile f = open_model(path);
  const std::string name = path.string();
  ModelEnsemble ensemble;
  try {
    check_input(f.header, name);
    if (f.magic == kMagic) {
      ModelFile model;
      model.arch = ArchSpec::from_json(f.header.at("arch"));
      model.info = f.header.value("info", nlohmann::json::object());
      model.tensors = read_tensors(f.in, f.size, f.header.at("tensors"), model.arch, TensorStorage::kFloat32, name);
      ensemble.info = model.info;
      ensemble.storage = TensorStorage::kFloat32;
      ensemble.single_network_file = true;
      ensemble.members.push_back(std::move(model));
      return ensemble;
    }
    const std::string storage = f.header.at("storage").get<std::string>();
    if (storage != "float32" && storage != "float16")
      throw ModelError(name + ": unknown tensor storage '" + storage + "' (float32 | float16)");
    ensemble.storage = storage == "float16" ? TensorStorage::kFloat16 : TensorStorage::kFloat32;
    ensemble.info = f.header.value("info", nlohmann::json::object());
    for (const auto& entry : f.header.at("members")) {
      ModelFile model;
      model.arch = ArchSpec::from_json(entry.at("arch"));
      model.info = entry.value("info", nlohmann::json::object());
      model.tensors = read_tensors(f.in, f.size, entry.at("tensors"), model.arch, ensemble.storage, name);
      ensemble.members.push_back(std::move(model));
    }
    if (ensemble.members.empty()) throw ModelError(name + ": an ensemble without networks");
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(name + ": corrupt header: " + e.what());
  } catch (const std::invalid_argument& e) {
    throw ModelError(name + ": " + e.what());
  }
  return ensemble;
}

ModelFile load_model_file(const fs::path& path) {
  ModelEnsemble ensemble = load_ensemble_file(path);
  if (ensemble.members.size() != 1)
    throw ModelError(path.string() + " is an ensemble of " + std::to_string(ensemble.members.size()) +
                     " networks, not a single network (`moodtunes unpack` writes each to its own file)");
  return std::move(ensemble.members.front());
}

bool is_ensemble_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string magic;
  return in && std::getline(in, magic) && magic == kEnsembleMagic;
}

}  // namespace moodtunes
