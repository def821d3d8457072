// bench_badinput: what hostile inputs cost the real `moodtunes` binary. Builds a corpus of bad
// inputs (each under 10 MB but the 20 MB comma header) in a temp folder -- image headers claiming
// huge sizes, a real zlib-compressed 16-bit RGBA PNG of zeros, truncated and corrupt files, CSVs
// with a giant header, a giant field, one id repeated, stray quotes, CR-only lines, model files
// claiming huge tensors, 5 MB of random bytes as each kind -- runs each through the commands
// that read that kind (detect, classify, suggest, suggest --input, live --no-window --input,
// catalog import, model-card, classify --model) as a child process, and prints per run: exit
// code, first line of stderr, peak RSS (wait4's ru_maxrss) and seconds, against the limit
// "<= 512 MB and <= 30 s for any input under 10 MB". Good inputs of each kind run first, as the
// baseline. Usage: bench_badinput [--keep] [--only SUBSTRING]  (data: $MOODTUNES_DATA)
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

constexpr double kMaxMb = 512, kMaxSeconds = 30, kKillSeconds = 120;
constexpr std::uintmax_t kSmallInput = 10u << 20;

using Bytes = std::string;

Bytes read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}
void write_file(const fs::path& p, const Bytes& b) { std::ofstream(p, std::ios::binary) << b; }

Bytes encode(const cv::Mat& m, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uchar> buf;
  if (!cv::imencode(ext, m, buf, params)) throw std::runtime_error("cannot encode " + ext);
  return Bytes(buf.begin(), buf.end());
}

void put_be32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>(v >> (24 - 8 * i));
}
void put_le(Bytes& b, std::size_t at, std::uint32_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
}
std::string be32(std::uint32_t v) {
  Bytes b(4, '\0');
  put_be32(b, 0, v);
  return b;
}

Bytes png_chunk(const std::string& type, const Bytes& data) {
  Bytes out = be32(static_cast<std::uint32_t>(data.size())) + type + data;
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(type.data()), 4);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  return out + be32(static_cast<std::uint32_t>(crc));
}

// A valid PNG of w x h 16-bit RGBA pixels, all zero: rows of zeros deflated with zlib, so a
// few MB on disk claim w*h*8 bytes once decoded.
Bytes zero_png_rgba16(std::uint32_t w, std::uint32_t h) {
  Bytes ihdr = be32(w) + be32(h) + std::string{16, 6, 0, 0, 0};  // 16 bit, RGBA, deflate, filter, no interlace
  z_stream z{};
  if (deflateInit(&z, 9) != Z_OK) throw std::runtime_error("deflateInit");
  const std::vector<unsigned char> row(1 + static_cast<std::size_t>(w) * 8, 0);  // filter byte 0, then pixels
  Bytes idat;
  std::vector<unsigned char> out(1 << 16);
  for (std::uint32_t y = 0; y < h; ++y) {
    z.next_in = const_cast<Bytef*>(row.data());
    z.avail_in = static_cast<uInt>(row.size());
    const int flush = y + 1 == h ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      deflate(&z, flush);
      idat.append(reinterpret_cast<char*>(out.data()), out.size() - z.avail_out);
    } while (z.avail_out == 0 || (flush == Z_FINISH && z.avail_in > 0));
  }
  deflateEnd(&z);
  return "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", ihdr) + png_chunk("IDAT", idat) + png_chunk("IEND", "");
}

Bytes random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n, '\0');
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    const auto v = rng();
    std::memcpy(b.data() + i, &v, 8);
  }
  return b;
}

// A model file: the magic, the header length, the JSON header, then `data_bytes` zero bytes.
Bytes model_file(const std::string& header, std::size_t data_bytes) {
  return "MOODTUNES-MODEL 1\n" + std::to_string(header.size()) + "\n" + header + Bytes(data_bytes, '\0');
}

std::string model_header(const std::string& arch, const std::string& tensors) {
  return R"({"arch":)" + arch +
         R"(,"classes":["angry","disgust","fear","happy","neutral","sad","surprise"],"input_size":48,)"
         R"("preprocess":"gray48-standardize-v1","info":{},"tensors":)" + tensors + "}";
}

struct Run {
  int exit_code = 0;   // exit status, or 128 + signal
  std::string stderr_first;
  double peak_mb = 0, seconds = 0;
  bool killed = false;
};

// Runs argv with stdout to /dev/null and stderr to a file; peak RSS from wait4.
Run run(const std::vector<std::string>& argv, const fs::path& err_file) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_RDWR);
    const int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(null, 0);
    dup2(null, 1);
    dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  Run r;
  int status = 0;
  rusage ru{};
  for (;;) {
    const pid_t done = wait4(pid, &status, WNOHANG, &ru);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() - t0 > std::chrono::duration<double>(kKillSeconds) && !r.killed) {
      kill(pid, SIGKILL);
      r.killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.peak_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream err(err_file);
  std::getline(err, r.stderr_first);
  if (r.stderr_first.size() > 90) r.stderr_first = r.stderr_first.substr(0, 87) + "...";
  return r;
}

struct Case {
  std::string name;
  std::string kind;  // image | video | csv | csv-deezer | model
  fs::path file;
  bool baseline = false;
};

}  // namespace

int main(int argc, char** argv) {
  bool keep = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--keep") keep = true;
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else {
      fmt::print(stderr, "usage: bench_badinput [--keep] [--only SUBSTRING]\n");
      return 2;
    }
  }
  const std::string bin = MOODTUNES_BINARY;
  const char* env = std::getenv("MOODTUNES_DATA");
  const fs::path data = env && *env ? fs::path(env) : fs::path(MOODTUNES_DATA_DIR);
  fs::path face;
  for (const auto& e : fs::directory_iterator(data / "realfaces" / "val" / "happy"))
    if (e.path().extension() == ".jpg" && (face.empty() || e.path() < face)) face = e.path();
  if (face.empty()) {
    // Paths in quotes, as they printed before (an ostream quotes a path).
    fmt::print(stderr, "no face photo under \"{}\" (set MOODTUNES_DATA)\n", (data / "realfaces/val/happy").string());
    return 1;
  }
  const fs::path dir = fs::temp_directory_path() / ("moodtunes-badinput-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fmt::print("# bench_badinput: corpus in \"{}\"\n", dir.string());

  std::vector<Case> cases;
  auto add = [&](const std::string& name, const std::string& kind, const Bytes& bytes, bool baseline = false) {
    const fs::path p = dir / name;
    write_file(p, bytes);
    cases.push_back({name, kind, p, baseline});
  };

  // Baselines: a real face photo, a video made of it, a small valid CSV, the shipped model.
  const Bytes face_jpg = read_file(face);
  add("good-face.jpg", "image", face_jpg, true);
  {
    const cv::Mat img = cv::imread(face.string());
    cv::VideoWriter vw((dir / "good-clip.avi").string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, img.size());
    for (int i = 0; i < 20; ++i) vw << img;
    vw.release();
    cases.push_back({"good-clip.avi", "video", dir / "good-clip.avi", true});
  }
  Bytes good_csv = "title,artist,valence,energy\n";
  for (int i = 0; i < 200; ++i)
    good_csv += "Song " + std::to_string(i) + ",Artist " + std::to_string(i % 17) + "," + std::to_string((i % 10) / 10.0) +
                "," + std::to_string((i % 7) / 7.0) + "\n";
  add("good.csv", "csv", good_csv, true);
  const fs::path shipped = fs::path(MOODTUNES_SOURCE_DIR) / "models" / "moodtunes-fer.mtm";
  cases.push_back({"shipped.mtm", "model", shipped, true});

  // Images: headers claiming huge sizes over small valid files.
  const cv::Mat small = cv::imread(face.string());
  {
    Bytes png = encode(small, ".png");
    put_be32(png, 16, 100000);
    put_be32(png, 20, 100000);
    add("png-header-100000x100000.png", "image", png);
    put_be32(png, 16, 0xFFFFFFFF);
    put_be32(png, 20, 0xFFFFFFFF);
    add("png-header-4294967295x4294967295.png", "image", png);
  }
  {
    Bytes jpg = face_jpg;
    for (std::size_t i = 2; i + 9 < jpg.size(); ++i)
      if (static_cast<unsigned char>(jpg[i]) == 0xFF && (static_cast<unsigned char>(jpg[i + 1]) & 0xF0) == 0xC0 &&
          jpg[i + 1] != '\xC4') {
        jpg[i + 5] = jpg[i + 7] = '\xFF';
        jpg[i + 6] = jpg[i + 8] = '\xDC';  // 65500 x 65500
        break;
      }
    add("jpeg-header-65500x65500.jpg", "image", jpg);
  }
  {
    Bytes webp = encode(small, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});  // lossless: VP8L
    const std::uint32_t v = (16383u) | (16383u << 14);
    put_le(webp, 21, v | (static_cast<std::uint32_t>(static_cast<unsigned char>(webp[24]) >> 4) << 28), 4);
    add("webp-header-16384x16384.webp", "image", webp);
  }
  {
    Bytes bmp = encode(small, ".bmp");
    put_le(bmp, 18, 100000, 4);
    put_le(bmp, 22, 100000, 4);
    add("bmp-header-100000x100000.bmp", "image", bmp);
  }
  {
    // A TIFF whose one IFD says 100000 x 100000, 8-bit gray, one strip of 64 bytes.
    Bytes t = "II*\0\x08\0\0\0"s;
    const std::vector<std::array<std::uint32_t, 3>> entries = {{256, 4, 100000}, {257, 4, 100000}, {258, 3, 8},
                                                                {259, 3, 1},      {262, 3, 1},      {273, 4, 0},
                                                                {277, 3, 1},      {278, 4, 100000}, {279, 4, 64}};
    Bytes ifd(2 + 12 * entries.size() + 4, '\0');
    put_le(ifd, 0, static_cast<std::uint32_t>(entries.size()), 2);
    for (std::size_t k = 0; k < entries.size(); ++k) {
      const auto [tag, type, value] = entries[k];
      put_le(ifd, 2 + 12 * k, tag, 2);
      put_le(ifd, 4 + 12 * k, type, 2);
      put_le(ifd, 6 + 12 * k, 1, 4);
      put_le(ifd, 10 + 12 * k, tag == 273 ? static_cast<std::uint32_t>(8 + ifd.size()) : value, type == 3 ? 2 : 4);
    }
    add("tiff-header-100000x100000.tiff", "image", t + ifd + Bytes(64, '\0'));
  }
  add("png-16000x16000-rgba16-zeros.png", "image", zero_png_rgba16(16000, 16000));
  add("png-7000x7000-rgba16-zeros.png", "image", zero_png_rgba16(7000, 7000));  // under the 50 MP cap
  {
    cv::Mat big(6000, 8000, CV_8UC3, cv::Scalar(90, 120, 150));  // 48 MP: a real photo's size, flat
    add("jpeg-8000x6000-flat.jpg", "image", encode(big, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 30}));
  }
  add("jpeg-truncated-half.jpg", "image", face_jpg.substr(0, face_jpg.size() / 2));
  {
    const Bytes png = encode(small, ".png");
    add("png-truncated-half.png", "image", png.substr(0, png.size() / 2));
    Bytes corrupt = face_jpg;
    std::mt19937 rng(5);
    for (std::size_t i = corrupt.size() / 4; i < corrupt.size(); i += 97) corrupt[i] = static_cast<char>(rng());
    add("jpeg-corrupt-bytes.jpg", "image", corrupt);
  }
  add("random-5MB.jpg", "image", random_bytes(5u << 20, 1));

  // Videos: a clip cut in half, random bytes, an image bomb given as a video.
  {
    const Bytes clip = read_file(dir / "good-clip.avi");
    add("clip-truncated-half.avi", "video", clip.substr(0, clip.size() / 2));
  }
  add("random-5MB.avi", "video", random_bytes(5u << 20, 2));
  cases.push_back({"png-header-100000x100000.png (as video)", "video", dir / "png-header-100000x100000.png"});
  cases.push_back({"png-7000x7000-rgba16-zeros.png (as video)", "video", dir / "png-7000x7000-rgba16-zeros.png"});

  // CSVs.
  add("csv-header-20M-commas.csv", "csv", "title,artist,valence,energy" + Bytes(20'000'000, ',') + "\n");
  add("csv-one-9MB-field.csv", "csv", "title,artist,valence,energy\n\"" + Bytes(9u << 20, 'x') + "\",a,0.5,0.5\nok,b,0.1,0.2\n");
  {
    Bytes s = "id,title,artist,valence,energy\n";
    for (int i = 0; i < 300'000; ++i) s += "7,Same,Band,0.5,0.5\n";
    add("csv-id-repeated-300k.csv", "csv", s);
  }
  {
    Bytes s = "title,artist,valence,energy\n";
    for (int i = 0; i < 100'000; ++i) {
      s += (i == 10 ? "\"Stray quote" : "Song " + std::to_string(i)) + ",Band " + std::to_string(i % 50) + ",0.5,0.5\n";
    }
    add("csv-unterminated-quote-100k-rows.csv", "csv", s);
    Bytes every = "title,artist,valence,energy\n";
    for (int i = 0; i < 100'000; ++i) every += "\"Stray " + std::to_string(i) + ",Band,0.5,0.5\n";
    add("csv-stray-quote-every-row-100k.csv", "csv", every);
    Bytes cr = "title,artist,valence,energy\r";
    for (int i = 0; i < 100'000; ++i) cr += "Song " + std::to_string(i) + ",Band " + std::to_string(i % 50) + ",0.5,0.5\r";
    add("csv-cr-only-100k-rows.csv", "csv", cr);
  }
  add("random-5MB.csv", "csv", random_bytes(5u << 20, 3));
  add("random-5MB-as-deezer.csv", "csv-deezer", random_bytes(5u << 20, 4));

  // Models.
  const std::string tiny_arch = R"({"type":"resnet","stem":8,"stages":[{"channels":8,"blocks":1}],"fc_hidden":32})";
  add("model-tensor-256x1024x1024.mtm", "model",
      model_file(model_header(tiny_arch, R"([{"name":"conv0.weight","shape":[256,1024,1024]}])"), 1024));
  const std::string huge_arch = R"({"type":"resnet","stem":4096,"stages":[{"channels":4096,"blocks":64}],"fc_hidden":2147483647})";
  add("model-arch-huge-fc1.mtm", "model",
      model_file(model_header(huge_arch, R"([{"name":"fc1.weight","shape":[2147483647,2359296]}])"), 1024));
  {
    Bytes m = read_file(shipped);
    add("model-shipped-truncated-half.mtm", "model", m.substr(0, m.size() / 2));
  }
  add("random-5MB.mtm", "model", random_bytes(5u << 20, 5));
  add("random-5MB-with-magic.mtm", "model", "MOODTUNES-ENSEMBLE 1\n999999\n" + random_bytes(5u << 20, 6));

  // A catalog for suggest (from the good CSV), imported once here.
  const fs::path catalog = dir / "catalog.sqlite";
  {
    const Run r = run({bin, "catalog", "import", (dir / "good.csv").string(), "--format", "csv", "--catalog", catalog.string()},
                      dir / "setup.err");
    if (r.exit_code != 0) fmt::print(stderr, "warning: the catalog for suggest was not made ({})\n", r.stderr_first);
  }
  setenv("MOODTUNES_CATALOG", catalog.c_str(), 1);

  fmt::print("{:<42} {:<34} {:>4} {:>7} {:>9} {:>8} {:<8} {}\n", "case", "command", "exit", "size MB", "peak MB", "seconds",
              "limit", "first line of stderr");
  int not_met = 0, n = 0;
  for (const auto& c : cases) {
    if (!only.empty() && c.name.find(only) == std::string::npos) continue;
    const std::string f = c.file.string();
    std::vector<std::pair<std::string, std::vector<std::string>>> commands;
    if (c.kind == "image") {
      commands = {{"detect", {bin, "detect", f}},
                  {"classify", {bin, "classify", f}},
                  {"suggest PHOTO", {bin, "suggest", f, "-n", "3"}}};
    } else if (c.kind == "video") {
      commands = {{"suggest --input --seconds 2", {bin, "suggest", "--input", f, "--seconds", "2", "-n", "3"}},
                  {"live --no-window --input", {bin, "live", "--no-window", "--input", f, "--max-frames", "20"}}};
    } else if (c.kind == "csv" || c.kind == "csv-deezer") {
      const std::string cat = (dir / ("import-" + std::to_string(n) + ".sqlite")).string();
      const std::string format = c.kind == "csv" ? "csv" : "deezer-mood";
      commands = {{"catalog import --format " + format, {bin, "catalog", "import", f, "--format", format, "--catalog", cat}}};
    } else {
      commands = {{"model-card", {bin, "model-card", f}},
                  {"classify --model", {bin, "classify", "--model", f, (dir / "good-face.jpg").string()}}};
    }
    std::error_code ec;
    const double size_mb = static_cast<double>(fs::file_size(c.file, ec)) / (1 << 20);
    for (const auto& [label, argv_] : commands) {
      const Run r = run(argv_, dir / "last.err");
      ++n;
      const bool met = r.peak_mb <= kMaxMb && r.seconds <= kMaxSeconds && !r.killed;
      const bool applies = fs::file_size(c.file, ec) < kSmallInput;
      if (!met && applies) ++not_met;
      fmt::print("{:<42} {:<34} {:4} {:7.2f} {:9.1f} {:8.2f} {:<8} {}\n", (c.baseline ? "[baseline] " + c.name : c.name).c_str(),
                  label.c_str(), r.exit_code, size_mb, r.peak_mb, r.seconds,
                  !applies ? (met ? "met*" : "NOT MET*") : met ? "met" : "NOT MET", r.stderr_first.c_str());
      std::fflush(stdout);
    }
  }
  fmt::print("# {} runs; limit <= {:.0f} MB and <= {:.0f} s for inputs under 10 MB: {} (* input of 10 MB or more: shown, not counted)\n",
              n, kMaxMb, kMaxSeconds, not_met == 0 ? "met by every run" : (std::to_string(not_met) + " runs NOT MET").c_str());
  std::error_code ec;
  if (!keep) fs::remove_all(dir, ec);
  return 0;
}
