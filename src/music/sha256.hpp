// SHA-256 via OpenSSL's libcrypto (EVP API). Users: music/importers (a local Deezer file against
// its pinned hash, offline), providers/dataset_download (the downloaded files) and
// providers/spotify_auth (the PKCE S256 code challenge). It lives in music, not providers,
// because the offline importer needs it and music must not depend on providers (the reverse holds).
// Inputs are read fully or streamed; outputs are lowercase hex or raw bytes. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace moodtunes::music {

std::array<std::uint8_t, 32> sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
// Streams the file; throws std::runtime_error when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& file);

}  // namespace moodtunes::music
