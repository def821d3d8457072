// Reading faces into one emotion reading: photos (every face of every image) or a camera/video
// stream watched for some seconds. The sequence behind `suggest` and a server's analyse route.
//
// read_photos(): each image is decoded safely (vision/image_io), its faces detected with the
// default photo detector and read with ten-crop TTA (vision::analyse_image). A small image
// (<= kCropMaxSide) with no detectable face is read as a face crop whose box is the whole
// image. The group reading is vision::group_reading over all faces of all images (weighted by
// box area). Unavailable when an image cannot be read; images without a face are listed.
// read_stream(): the live pipeline over the stream's frames for `seconds` (camera: wall time,
// video: its own frame times); the reading is the mean of the frames' group readings.
// Borrows the classifier; each call owns its detector/pipeline, so concurrent calls with
// different classifiers are safe (one classifier serialises its callers).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/classifier.hpp"
#include "vision/pipeline.hpp"

namespace moodtunes::app {

// Images up to this size with no detection are taken to be a face crop already (FER-style).
inline constexpr int kCropMaxSide = 128;

struct PhotoFace {
  std::string image{};  // the file it came from
  vision::FaceReading face{};
  bool read_as_crop = false;  // no face detected: the whole (small) image was read
};

struct PhotoReading {
  std::vector<PhotoFace> faces{};
  std::optional<vision::GroupReading> group{};  // nullopt when no image had a face
  std::vector<std::string> without_face{};      // images in which no face was found
};

PhotoReading read_photos(const std::vector<std::string>& images, const EmotionClassifier& classifier);

struct StreamSource {
  int camera = -1;     // a camera index, used when `video` is empty
  std::string video{};  // a video file
  double seconds = 3;  // how long to watch
};

// nullopt when no frame had a face.
std::optional<vision::GroupReading> read_stream(const StreamSource& source, const EmotionClassifier& classifier);

}  // namespace moodtunes::app
