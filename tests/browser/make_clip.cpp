// make_clip: writes a YUV4MPEG2 clip (640x480, 30 fps, 4:2:0) of one face photo pasted on a plain
// background and drifting a few pixels per frame. Chromium's fake camera
// (--use-file-for-fake-video-capture) plays it to getUserMedia, so the browser test sees a real
// face through the page's whole camera path. With OUT.png it writes the first frame as a still
// photo instead (the page's photo upload, e.g. one small face on a wall).
//
//   make_clip PHOTO OUT.y4m|OUT.png [--size 250] [--seconds 4]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: make_clip PHOTO OUT.y4m|OUT.png [--size PX] [--seconds S]\n";
    return 2;
  }
  const std::string photo_path = argv[1], out_path = argv[2];
  int size = 250;  // the photo's longer side in the frame: an LFW crop's face comes out ~190 px
  double seconds = 4.0;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--size") size = std::atoi(argv[i + 1]);
    else if (flag == "--seconds") seconds = std::atof(argv[i + 1]);
    else { std::cerr << "make_clip: unknown option " << flag << "\n"; return 2; }
  }
  constexpr int kWidth = 640, kHeight = 480, kFps = 30;
  cv::Mat photo = cv::imread(photo_path, cv::IMREAD_COLOR);
  if (photo.empty()) { std::cerr << "make_clip: cannot read " << photo_path << "\n"; return 1; }
  const double scale = static_cast<double>(size) / std::max(photo.cols, photo.rows);
  cv::resize(photo, photo, cv::Size(), scale, scale, cv::INTER_AREA);
  if (photo.cols + 60 > kWidth || photo.rows + 60 > kHeight) { std::cerr << "make_clip: --size too large\n"; return 2; }

  cv::Mat frame(kHeight, kWidth, CV_8UC3);
  // The frame at `t` seconds: the photo on a plain light wall, drifting slowly (up to ±24 px
  // across, ±12 px down) so the tracker sees a moving face; at t = 0 it is centred.
  auto draw_frame = [&](double t) {
    frame.setTo(cv::Scalar(236, 240, 242));
    const int x = (kWidth - photo.cols) / 2 + static_cast<int>(std::lround(24 * std::sin(t * 1.3)));
    const int y = (kHeight - photo.rows) / 2 + static_cast<int>(std::lround(12 * std::sin(t * 0.9)));
    photo.copyTo(frame(cv::Rect(x, y, photo.cols, photo.rows)));
  };
  if (out_path.size() > 4 && out_path.substr(out_path.size() - 4) == ".png") {
    draw_frame(0);
    if (!cv::imwrite(out_path, frame)) { std::cerr << "make_clip: cannot write " << out_path << "\n"; return 1; }
    std::cout << out_path << ": " << kWidth << "x" << kHeight << " still\n";
    return 0;
  }
  std::ofstream out(out_path, std::ios::binary);
  if (!out) { std::cerr << "make_clip: cannot write " << out_path << "\n"; return 1; }
  // C420jpeg: 4:2:0 with centred chroma, which is what OpenCV's I420 conversion produces.
  out << "YUV4MPEG2 W" << kWidth << " H" << kHeight << " F" << kFps << ":1 Ip A1:1 C420jpeg\n";
  const int frames = static_cast<int>(seconds * kFps);
  cv::Mat yuv;
  for (int f = 0; f < frames; ++f) {
    draw_frame(static_cast<double>(f) / kFps);
    cv::cvtColor(frame, yuv, cv::COLOR_BGR2YUV_I420);  // one plane: Y, then U, then V
    out << "FRAME\n";
    out.write(reinterpret_cast<const char*>(yuv.data), static_cast<std::streamsize>(yuv.total()));
  }
  if (!out) { std::cerr << "make_clip: write failed\n"; return 1; }
  std::cout << out_path << ": " << frames << " frames, " << kWidth << "x" << kHeight << " @" << kFps << " fps\n";
  return 0;
}
