#include "providers/dataset_download.hpp"

#include <fstream>

#include <spdlog/spdlog.h>

#include "music/importers.hpp"
#include "music/sha256.hpp"
#include "providers/retry.hpp"

namespace moodtunes::providers {

namespace fs = std::filesystem;

std::vector<fs::path> download_deezer_mood(HttpClient& http, const fs::path& dest_dir, const std::string& base_url) {
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  fs::create_directories(dest_dir);
  std::vector<fs::path> out;
  for (const auto& f : music::kDeezerMoodFiles) {
    HttpRequest req;
    req.url = base + "/" + std::string(f.name);
    req.timeout = std::chrono::seconds(60);  // ~1 MB files; generous but bounded
    spdlog::info("downloading {}", req.url);
    const HttpResponse r = send_with_retry(http, req, {});
    if (r.status != 200)
      throw ProviderError(r.status == 404 ? ErrorKind::kNotFound : ErrorKind::kRejected,
                          "download " + req.url + ": HTTP " + std::to_string(r.status));
    const std::string got = music::sha256_hex(r.body);
    if (got != f.sha256)
      throw ProviderError(ErrorKind::kBadResponse, "download " + req.url + ": sha256 " + got + " differs from the pinned " +
                                                       std::string(f.sha256) + "; nothing imported");
    const fs::path p = dest_dir / f.name;
    std::ofstream o(p, std::ios::binary | std::ios::trunc);
    o.write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
    if (!o.flush()) throw ProviderError(ErrorKind::kConfig, "cannot write " + p.string());
    out.push_back(p);
  }
  return out;
}

}  // namespace moodtunes::providers
