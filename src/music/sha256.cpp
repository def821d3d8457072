#include "music/sha256.hpp"

#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

#include <openssl/evp.h>

namespace moodtunes::music {

namespace {
struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_MD_CTX, CtxFree>;

Ctx new_ctx() {
  Ctx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
  return ctx;
}

std::array<std::uint8_t, 32> finish(Ctx& ctx) {
  std::array<std::uint8_t, 32> out{};
  unsigned len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size())
    throw std::runtime_error("OpenSSL: SHA-256 failed");
  return out;
}

std::string to_hex(const std::array<std::uint8_t, 32>& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (auto b : d) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}
}  // namespace

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  Ctx ctx = new_ctx();
  if (EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1)
    throw std::runtime_error("OpenSSL: SHA-256 failed");
  return finish(ctx);
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::string sha256_file_hex(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  Ctx ctx = new_ctx();
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0 && EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount())) != 1)
      throw std::runtime_error("OpenSSL: SHA-256 failed");
  }
  if (in.bad()) throw std::runtime_error("read error on " + file.string());
  return to_hex(finish(ctx));
}

}  // namespace moodtunes::music
