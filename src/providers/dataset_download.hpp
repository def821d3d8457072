// Download of the Deezer Mood Detection CSVs from the pinned commit (importers.hpp), each
// verified against its pinned sha256 before it is handed to the importer.
//
// Files go to `dest_dir` (created); a file whose checksum differs is never written and
// ProviderError kBadResponse is thrown naming the file and both digests, so nothing unverified
// is ever imported. `base_url` is configurable so tests can serve the files from loopback.
// Thread-safe if the HttpClient is.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "providers/http.hpp"

namespace moodtunes::providers {

std::vector<std::filesystem::path> download_deezer_mood(HttpClient& http, const std::filesystem::path& dest_dir,
                                                        const std::string& base_url);

}  // namespace moodtunes::providers
