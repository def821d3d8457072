// SHA-256 via OpenSSL's libcrypto (EVP API): used to verify downloaded / local dataset files
// and, in providers/, for the PKCE S256 code challenge.
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
