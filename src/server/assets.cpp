#include "server/assets.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace moodtunes::server {

namespace fs = std::filesystem;

namespace {
// "/a/b.js" -> "a/b.js"; "/" and "/x/" -> ".../index.html"; nullopt for anything that could
// leave the root or name a hidden file.
std::optional<std::string> relative_path(std::string_view url) {
  if (url.empty() || url.front() != '/') return std::nullopt;
  std::string rel(url.substr(1));
  if (rel.empty() || rel.back() == '/') rel += "index.html";
  if (rel.find('\\') != std::string::npos || rel.find('\0') != std::string::npos) return std::nullopt;
  std::size_t start = 0;
  while (start <= rel.size()) {
    const std::size_t end = std::min(rel.find('/', start), rel.size());
    const std::string_view part(rel.data() + start, end - start);
    if (part.empty() || part.front() == '.') return std::nullopt;  // "", ".", "..", hidden
    start = end + 1;
  }
  return rel;
}
}  // namespace

std::string content_type_for(std::string_view name) {
  const auto dot = name.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "webmanifest") return "application/manifest+json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "webp") return "image/webp";
  if (ext == "ico") return "image/x-icon";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "woff2") return "font/woff2";
  return "application/octet-stream";
}

std::optional<Asset> find_asset(std::string_view url_path, const std::string& web_root) {
  const auto rel = relative_path(url_path);
  if (!rel) return std::nullopt;
  if (web_root.empty()) {
    for (const auto& f : kWebFiles)
      if (*rel == f.name) return Asset{std::string(reinterpret_cast<const char*>(f.data), f.size), content_type_for(*rel)};
    return std::nullopt;
  }
  std::error_code ec;
  const fs::path root = fs::canonical(web_root, ec);
  if (ec) return std::nullopt;
  const fs::path file = fs::canonical(root / *rel, ec);
  if (ec || !fs::is_regular_file(file, ec)) return std::nullopt;
  // A symbolic link out of the root is refused like "..".
  const auto [r, f] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  if (r != root.end()) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  return Asset{std::string(std::istreambuf_iterator<char>(in), {}), content_type_for(*rel)};
}

std::string_view openapi_document() {
  for (const auto& f : kSpecFiles)
    if (std::string_view(f.name) == "openapi.json") return {reinterpret_cast<const char*>(f.data), f.size};
  return "{}";
}

}  // namespace moodtunes::server
