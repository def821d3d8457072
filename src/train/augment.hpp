// Training augmentation of one face (what `moodtunes train` shows the net instead of the
// plain face): a random flip, optionally a round trip through a random resolution, the shared
// geometric warp (preprocess/preprocess.hpp's warp_face: rotation, zoom, shift), a random gamma,
// optionally a camera's losses (low light or contrast, blur, sensor noise, JPEG), the shared
// standardisation, then random erasing.
//
// Input: an 8-bit gray kFaceSize x kFaceSize face (not modified) and the face's own random
// stream. Output: a standardised CV_32FC1 kFaceSize x kFaceSize image, a new buffer.
// Deterministic: the same face, options and stream state give the same image on any thread
// (OpenCV's own RNG, which the sensor noise draws from, is reseeded from `rng`). With
// resample_prob = 0 and camera_prob = 0 it draws from `rng` as it did before those options
// existed, so older runs replay. Thread-safe for distinct streams. Free of LibTorch.
#pragma once

#include <random>

#include <opencv2/core.hpp>

namespace moodtunes {

// scale_jitter: zoom of 1 +- this; resample_prob, camera_prob: probabilities of the round trip
// and of the camera's losses (TrainOptions documents each).
cv::Mat augment(const cv::Mat& gray48, double scale_jitter, double resample_prob, double camera_prob,
                std::mt19937_64& rng);

}  // namespace moodtunes
