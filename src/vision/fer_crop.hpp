// Box -> FER framing: FER-2013 faces are cropped in one particular way (tight, forehead to chin,
// roughly centred on the nose). A detector box is framed differently (dlib's HOG box starts at
// the brows, a Haar box includes more forehead). fer_crop_rect() maps a detector box to the
// square the FER crop of that face would be, so live faces reach the network framed as in
// training; crop_fer_face() extracts it (replicating the border where it leaves the frame).
//
// Contract:
//   requires: box non-empty; image non-empty (any type preprocess_face() accepts).
//   ensures:  crop_fer_face() returns a square crop of the image (same type), side >= 1, ready
//             for preprocess/preprocess.hpp (which resizes to 48x48 and standardises).
// Pure functions; thread-safe. The fitted constants live in fer_framing() (fer_crop.cpp) only.
#pragma once

#include <opencv2/core.hpp>

#include "vision/face_detector.hpp"

namespace moodtunes::vision {

// FER crop of a face whose detector box is B (centre c, width w):
//   centre = c + (dx * w, dy * w), side = scale * w.
struct FerFraming {
  double dx = 0, dy = 0, scale = 1;
};

FerFraming fer_framing(BoxStyle style);
cv::Rect2d fer_crop_rect(const cv::Rect& box, const FerFraming& framing);
cv::Rect2d fer_crop_rect(const cv::Rect& box, BoxStyle style);
// angle: the face's roll (FaceBox::angle); when non-zero the crop is taken in the face's upright
// frame (rotated about the box centre), so the network sees a level face.
cv::Mat crop_fer_face(const cv::Mat& image, const cv::Rect& box, BoxStyle style, double angle = 0);
cv::Mat crop_square(const cv::Mat& image, const cv::Rect2d& square);

}  // namespace moodtunes::vision
