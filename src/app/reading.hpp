// Reading faces into one emotion reading: photos (every face of every image) or a camera/video
// stream watched for some seconds. The sequence behind `suggest` and a server's analyse route.
//
// read_photos(): each image is decoded safely (vision/image_io), its faces detected with the
// photo detector (vision::photo_detector) and read with ten-crop TTA (vision::analyse_image). A small image
// (kCropMinSide..kCropMaxSide) with no detectable face is read as a face crop whose box is the
// whole image. The group reading is vision::group_reading over all faces of all images (weighted
// by box area). Unavailable when an image cannot be read; images without a face are listed; a
// decoder warning (a truncated JPEG, read with its missing part grey) is passed on in warnings.
// read_stream(): the live pipeline over the stream's frames for `seconds` (camera: wall time,
// video: its own frame times); the reading is the mean of the frames' group readings. Videos and
// cameras open through vision/video_io.hpp (regular files only, pixel cap per frame);
// Unavailable when they cannot be opened, InvalidInput for seconds <= 0.
// decode_upload() / read_image_bytes(): one image given as bytes (a server's upload), decoded by
// the guarded decoder (vision::decode_image: the pixel cap is checked on the header, before
// decoding) and, for read_image_bytes(), read exactly as `moodtunes detect` reads a photo file
// (vision::analyse_image, default options: ten-crop). Bytes that are not a readable image
// (empty, unknown format, corrupt, over the cap) throw InvalidInput: the caller sent them. No
// face is not an error: the reading has no faces and no group.
// Borrows the classifier (and detector); each call owns its detector/pipeline unless given one,
// so concurrent calls with different classifiers are safe (one classifier serialises its
// callers; a detector must not be shared between concurrent calls).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/classifier.hpp"
#include "vision/face_detector.hpp"
#include "vision/image_io.hpp"
#include "vision/pipeline.hpp"

namespace moodtunes::app {

// Images up to this size with no detection are taken to be a face crop already (FER-style).
inline constexpr int kCropMaxSide = 128;
// ... and at least this size (model/classifier.hpp).
inline constexpr int kCropMinSide = kMinFaceSide;

struct PhotoFace {
  std::string image{};  // the file it came from
  vision::FaceReading face{};
  bool read_as_crop = false;  // no face detected: the whole (small) image was read
};

struct PhotoReading {
  std::vector<PhotoFace> faces{};
  std::optional<vision::GroupReading> group{};  // nullopt when no image had a face
  struct NoFace {
    std::string image{};
    bool small_face_held_back = false;  // a lone small face was left out (lone_small_faces reports it)
  };
  std::vector<NoFace> without_face{};           // images in which no face was found
  std::vector<std::string> warnings{};          // "image: what" (a truncated JPEG is read, with this said)
};

// `lone_small_faces`: vision::photo_detector(true), which also reports a lone face under ~80 px;
// without it, the images without a face say where such a face was left out.
PhotoReading read_photos(const std::vector<std::string>& images, const EmotionClassifier& classifier,
                         bool lone_small_faces = false);

struct StreamSource {
  int camera = -1;     // a camera index, used when `video` is empty
  std::string video{};  // a video file
  double seconds = 3;  // how long to watch
};

// nullopt when no frame had a face.
std::optional<vision::GroupReading> read_stream(const StreamSource& source, const EmotionClassifier& classifier);

vision::DecodedImage decode_upload(std::span<const unsigned char> bytes, const vision::DecodeLimits& limits = {});

struct ImageReading {
  int width = 0, height = 0;                      // the decoded image (orientation applied)
  std::vector<vision::FaceReading> faces{};       // largest first
  std::optional<vision::GroupReading> group{};    // nullopt when no face
  std::vector<std::string> warnings{};            // from the decoder (e.g. a truncated JPEG)
  bool second_look = false;                       // the faces are a lone small face held back (below)
  bool small_face_held_back = false;              // no face, and a lone small face left out (`second_look` would report it)
};

// `detector` null: a fresh vision::kDefaultDetector for this call. `second_look`: where the
// detector finds no face, report the faces it held back (vision::ImageAnalysisOptions::
// report_held_back): with kDefaultDetector, a lone small face, as kLoneSmallFacesDetector would
// find it, at no second search; ImageReading::second_look says so.
ImageReading read_image_bytes(std::span<const unsigned char> bytes, const EmotionClassifier& classifier,
                              vision::FaceDetector* detector = nullptr, const vision::DecodeLimits& limits = {},
                              bool second_look = false);

}  // namespace moodtunes::app
