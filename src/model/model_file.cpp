#include "model/model_file.hpp"

#include <fstream>
#include <numeric>

#include "core/emotion.hpp"
#include "core/preprocess.hpp"

namespace fs = std::filesystem;

namespace moodtunes {

namespace {
constexpr const char* kMagic = "MOODTUNES-MODEL 1";
constexpr std::size_t kMaxHeader = 1 << 20;
constexpr std::uintmax_t kMaxModelBytes = 512ull << 20;

std::size_t element_count(const std::vector<int>& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::size_t{1},
                         [](std::size_t a, int b) { return a * static_cast<std::size_t>(b); });
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
  header["classes"] = kEmotionNames;
  header["input_size"] = kFaceSize;
  header["preprocess"] = kPreprocessId;
  header["info"] = model.info;
  auto& table = header["tensors"] = nlohmann::json::array();
  for (const auto& t : model.tensors) {
    if (element_count(t.shape) != t.data.size()) throw ModelError("tensor " + t.name + ": shape/data mismatch");
    table.push_back({{"name", t.name}, {"shape", t.shape}});
  }
  const std::string text = header.dump();
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw ModelError("cannot write " + tmp.string());
    out << kMagic << '\n' << text.size() << '\n' << text;
    for (const auto& t : model.tensors)
      out.write(reinterpret_cast<const char*>(t.data.data()),
                static_cast<std::streamsize>(t.data.size() * sizeof(float)));
    out.flush();
    if (!out) throw ModelError("write failed: " + tmp.string());
  }
  fs::rename(tmp, path);
}

ModelFile load_model_file(const fs::path& path) {
  std::error_code ec;
  const auto file_size = fs::file_size(path, ec);
  if (ec) throw ModelError("model file not found: " + path.string());
  if (file_size > kMaxModelBytes) throw ModelError("model file too large: " + path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError("cannot open model file: " + path.string());
  std::string magic, length_line;
  std::getline(in, magic);
  if (magic != kMagic) throw ModelError(path.string() + " is not a moodtunes model (.mtm) file");
  std::getline(in, length_line);
  std::size_t header_len = 0;
  try {
    header_len = std::stoul(length_line);
  } catch (const std::exception&) {
    throw ModelError(path.string() + ": corrupt header length");
  }
  if (header_len == 0 || header_len > kMaxHeader) throw ModelError(path.string() + ": corrupt header length");
  std::string text(header_len, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_len)))
    throw ModelError(path.string() + ": truncated header");

  ModelFile model;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
    if (header.at("classes").get<std::vector<std::string>>() !=
        std::vector<std::string>(kEmotionNames.begin(), kEmotionNames.end()))
      throw ModelError(path.string() + ": model classes differ from this build's emotion list");
    if (header.at("input_size").get<int>() != kFaceSize)
      throw ModelError(path.string() + ": model input size differs from " + std::to_string(kFaceSize));
    if (header.at("preprocess").get<std::string>() != kPreprocessId)
      throw ModelError(path.string() + ": model was trained with preprocessing '" +
                       header.at("preprocess").get<std::string>() + "', this build uses " + kPreprocessId);
    model.arch = ArchSpec::from_json(header.at("arch"));
    model.info = header.value("info", nlohmann::json::object());
    for (const auto& entry : header.at("tensors")) {
      NamedTensor t;
      t.name = entry.at("name").get<std::string>();
      t.shape = entry.at("shape").get<std::vector<int>>();
      const std::size_t n = element_count(t.shape);
      if (n > kMaxModelBytes / sizeof(float)) throw ModelError(path.string() + ": tensor too large");
      t.data.resize(n);
      if (!in.read(reinterpret_cast<char*>(t.data.data()), static_cast<std::streamsize>(n * sizeof(float))))
        throw ModelError(path.string() + ": truncated tensor data (" + t.name + ")");
      model.tensors.push_back(std::move(t));
    }
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(path.string() + ": corrupt header: " + e.what());
  } catch (const std::invalid_argument& e) {
    throw ModelError(path.string() + ": " + e.what());
  }
  return model;
}

}  // namespace moodtunes
