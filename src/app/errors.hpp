// Errors of the use-case layer, typed by who is at fault, so each front end maps them once:
// the CLI to its exit codes (src/cli/main.cpp), a server to HTTP statuses.
//   InvalidInput  the caller's request is wrong (unknown emotion, bad probabilities): CLI 2.
//   NoFace        the images or stream held no readable face: CLI 3.
//   Unavailable   a resource is missing, unreadable or refused (image file, camera, empty
//                 catalog, Spotify login): CLI 1.
// Messages are safe to show to the user (no secrets). Header-only: the trainer-only build of
// the CLI (scripts/device/train-gpu.sh) catches them without linking the app library.
#pragma once

#include <stdexcept>
#include <string>

namespace moodtunes::app {

struct InvalidInput : std::invalid_argument {
  explicit InvalidInput(const std::string& message) : std::invalid_argument(message) {}
};

struct NoFace : std::runtime_error {
  explicit NoFace(const std::string& message) : std::runtime_error(message) {}
};

struct Unavailable : std::runtime_error {
  explicit Unavailable(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace moodtunes::app
