// The roll of a face from dlib's 68-point shape predictor (libdlib-data's
// shape_predictor_68_face_landmarks.dat), for vision_bench's real-align measurement only: the
// product does not use landmarks (docs/experiments.md). Kept in its own translation unit because
// dlib's headers are heavy to compile.
//
// eye_roll_degrees(): the angle of the line from the centre of the image-left eye (points 36-41)
// to the image-right eye (42-47), in OpenCV's convention (+ = counter-clockwise, as FaceBox::angle),
// so crop_fer_face(gray, box, style, roll) levels the eyes. Throws std::runtime_error when the
// predictor file is missing. Not thread-safe (one shared predictor).
#pragma once

#include <opencv2/core.hpp>

namespace moodtunes::bench {

double eye_roll_degrees(const cv::Mat& gray, const cv::Rect& box);

}  // namespace moodtunes::bench
