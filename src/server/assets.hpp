// The files the server sends as they are: the web page (every file under web/, compiled into
// the binary by embed.cmake, or read from a folder given with --web-root while developing the
// page) and the OpenAPI document (src/server/openapi.json, compiled in).
//
// find_asset(): the file for a URL path ("/" and folder paths mean their index.html), with its
// Content-Type; nullopt for an unknown file or a path that tries to leave the root ("..",
// backslashes, NUL, hidden files). From a web root, only regular files under it are read
// (symbolic links are resolved and must stay inside).
// Thread-safety: pure functions over constant data and the file system.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace moodtunes::server {

struct EmbeddedFile {
  const char* name;           // path relative to its root, '/'-separated
  const unsigned char* data;
  std::size_t size;
};

extern const std::span<const EmbeddedFile> kWebFiles;   // web/ (empty when the build had none)
extern const std::span<const EmbeddedFile> kSpecFiles;  // openapi.json

struct Asset {
  std::string body;
  std::string content_type;
};

// `web_root` empty: the embedded page.
std::optional<Asset> find_asset(std::string_view url_path, const std::string& web_root);
// The embedded OpenAPI document.
std::string_view openapi_document();
// Content-Type for a file name, by its extension (application/octet-stream when unknown).
std::string content_type_for(std::string_view name);

}  // namespace moodtunes::server
