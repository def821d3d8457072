// Face preprocessing shared by training, evaluation and live inference, so they cannot drift.
//
// Input: a face crop (any size; 8-bit gray, BGR or BGRA). Output: a kFaceSize x kFaceSize
// CV_32FC1 image, per-image standardised (zero mean, unit variance), which is exactly what the
// network sees. Pure functions; thread-safe.
#pragma once

#include <opencv2/core.hpp>

namespace moodtunes {

// The model input: FER-2013 faces are 48x48 grayscale.
inline constexpr int kFaceSize = 48;

// Any face crop -> 8-bit gray kFaceSize x kFaceSize (area filter when shrinking).
cv::Mat to_face_gray(const cv::Mat& face);

// 8-bit gray kFaceSize x kFaceSize -> float standardised network input.
cv::Mat standardize_face(const cv::Mat& gray48);

// to_face_gray + standardize_face.
cv::Mat preprocess_face(const cv::Mat& face);

}  // namespace moodtunes
