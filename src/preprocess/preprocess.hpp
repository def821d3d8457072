// Face preprocessing shared by training, evaluation and live inference, so they cannot drift.
//
// Input: a face crop (any size; gray, BGR or BGRA; 8-bit, 16-bit or float, see to_gray()). Output: a kFaceSize x kFaceSize
// CV_32FC1 image, per-image standardised (zero mean, unit variance), which is exactly what the
// network sees (before model/classifier.hpp's test-time views). Pure functions; thread-safe.
#pragma once

#include <opencv2/core.hpp>

namespace moodtunes {

// The model input: FER-2013 faces are 48x48 grayscale.
inline constexpr int kFaceSize = 48;

// Any image -> 8-bit gray: THE conversion under both the detector (vision's detect() takes its
// output) and the classifier's input (to_face_gray()), so both see the same image of a frame.
// 1, 3 (BGR) or 4 (BGRA) channels. Each channel is first reduced to 8 bits by a fixed rule:
// 8-bit as is, 16-bit by its high byte (what OpenCV's decoders keep when they read a 16-bit
// file as 8-bit, so vision::decode_image() and this agree), float in [0, 1] times 255
// (saturated); then BGR(A) -> gray. A fixed rule rather than a per-image stretch: a pixel's gray
// does not depend on the rest of the image. Shares data when the input is already 8-bit gray.
// Throws std::invalid_argument for an empty image or another channel count or depth.
cv::Mat to_gray(const cv::Mat& image);

// Any face crop -> 8-bit gray kFaceSize x kFaceSize: to_gray(), then the area filter when
// shrinking or bilinear when enlarging.
cv::Mat to_face_gray(const cv::Mat& face);

// 8-bit gray kFaceSize x kFaceSize -> float standardised network input.
cv::Mat standardize_face(const cv::Mat& gray48);

// The geometric warp of training's augmentation: rotate by `angle_deg` and scale by `scale`
// about the face centre, then shift by (tx, ty) px; bilinear, border replicated. 8-bit gray
// kFaceSize x kFaceSize in and out.
cv::Mat warp_face(const cv::Mat& gray48, float angle_deg, float scale, float tx, float ty);

// to_face_gray + standardize_face.
cv::Mat preprocess_face(const cv::Mat& face);

// Training resamples every face (warp_face at a random sub-pixel phase), so a face that was never
// resampled is sharper than anything the net saw. The plain view resamples it once: shifted by
// kPlainViewShiftPx right and down, bilinearly, then standardised again, as training's warp then
// standardisation would. It is what the classifier reads for a face without test-time
// augmentation and what training's val evaluation reads (why and what it gained:
// models/MODEL_CARD.md, "The plain view").
inline constexpr double kPlainViewShiftPx = 0.25;

// The plain view of a standardised face (CV_32FC1 kFaceSize x kFaceSize), a new buffer.
cv::Mat plain_view(const cv::Mat& standardized);

}  // namespace moodtunes
