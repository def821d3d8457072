// `moodtunes serve` over real HTTP: the binary started on 127.0.0.1 with a temporary catalog,
// called with httplib::Client (and raw sockets where a client misbehaves on purpose). Every
// route, every kind of bad input, the limits, CORS, the API key, metrics and the OpenAPI
// document, whose response schemas are checked against the real responses. After each test the
// server's own metrics must show no 500 answer. Tests that need photos skip without
// $MOODTUNES_DATA; the rest make their images with OpenCV.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "server/server_process.hpp"
#include "test_util.hpp"
#include "vision/vision_test_util.hpp"

using nlohmann::json;
using namespace moodtunes::test;
using moodtunes::test::TempDir;

namespace {

const std::vector<std::string> kEmotions = {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"};
const std::vector<std::string> kStrategies = {"match", "uplift", "calm", "energize"};

// ---- a small JSON Schema validator (the subset openapi.json uses) ------------------------------

class SchemaValidator {
 public:
  explicit SchemaValidator(json doc) : doc_(std::move(doc)) {}

  // Every violation, as "path: what"; empty when `value` conforms.
  std::vector<std::string> validate(const json& value, const json& schema, const std::string& at = "$") const {
    std::vector<std::string> errors;
    check(value, schema, at, errors);
    return errors;
  }

  // The schema of one documented response's JSON body (null when it has none).
  json response_schema(const std::string& path, const std::string& method, int status) const {
    const json& responses = doc_.at("paths").at(path).at(method).at("responses");
    const json& r = responses.at(std::to_string(status));
    if (!r.contains("content") || !r["content"].contains("application/json")) return nullptr;
    return r["content"]["application/json"]["schema"];
  }
  bool documents(const std::string& path, const std::string& method, int status) const {
    return doc_.contains("paths") && doc_["paths"].contains(path) && doc_["paths"][path].contains(method) &&
           doc_["paths"][path][method]["responses"].contains(std::to_string(status));
  }

 private:
  static bool has_type(const json& v, const std::string& t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "integer") return v.is_number_integer();
    if (t == "number") return v.is_number();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    return false;
  }

  const json& resolve(const json& schema) const {
    const std::string ref = schema.at("$ref");
    const std::string prefix = "#/components/schemas/";
    if (ref.rfind(prefix, 0) != 0) throw std::runtime_error("unsupported $ref " + ref);
    return doc_.at("components").at("schemas").at(ref.substr(prefix.size()));
  }

  void check(const json& v, const json& schema, const std::string& at, std::vector<std::string>& errors) const {
    if (schema.contains("$ref")) return check(v, resolve(schema), at, errors);
    if (schema.contains("type")) {
      const json& t = schema["type"];
      bool ok = false;
      if (t.is_string()) ok = has_type(v, t);
      else for (const auto& each : t) ok = ok || has_type(v, each);
      if (!ok) {
        errors.push_back(at + ": " + v.type_name() + " is not of type " + t.dump());
        return;
      }
    }
    if (schema.contains("enum") && std::find(schema["enum"].begin(), schema["enum"].end(), v) == schema["enum"].end())
      errors.push_back(at + ": " + v.dump() + " not in " + schema["enum"].dump());
    if (v.is_number()) {
      if (schema.contains("minimum") && v.get<double>() < schema["minimum"].get<double>())
        errors.push_back(at + ": below minimum");
      if (schema.contains("maximum") && v.get<double>() > schema["maximum"].get<double>())
        errors.push_back(at + ": above maximum");
    }
    if (v.is_object()) {
      if (schema.contains("required"))
        for (const auto& k : schema["required"])
          if (!v.contains(k.get<std::string>())) errors.push_back(at + ": missing required \"" + k.get<std::string>() + "\"");
      if (schema.contains("properties"))
        for (const auto& [k, sub] : schema["properties"].items())
          if (v.contains(k)) check(v[k], sub, at + "." + k, errors);
      if (schema.contains("additionalProperties") && schema["additionalProperties"] == false)
        for (const auto& [k, _] : v.items())
          if (!schema.value("properties", json::object()).contains(k)) errors.push_back(at + ": unexpected \"" + k + "\"");
    }
    if (v.is_array() && schema.contains("items"))
      for (std::size_t i = 0; i < v.size(); ++i) check(v[i], schema["items"], at + "[" + std::to_string(i) + "]", errors);
    if (schema.contains("oneOf")) {
      int matched = 0;
      for (const auto& sub : schema["oneOf"]) {
        std::vector<std::string> sub_errors;
        check(v, sub, at, sub_errors);
        matched += sub_errors.empty();
      }
      if (matched != 1) errors.push_back(at + ": matches " + std::to_string(matched) + " of oneOf, not exactly 1");
    }
  }

  json doc_;
};

// ---- the fixture -----------------------------------------------------------------------------

class Serve : public ::testing::Test {
 protected:
  void SetUp() override { catalog_ = make_catalog(dir_.path()); }

  // Starts the server with the temp catalog, offline, Spotify config in the temp folder.
  ServerProcess& start(std::vector<std::string> args = {}, std::map<std::string, std::string> env = {},
                       const fs::path& cwd = {}) {
    std::vector<std::string> all = {"--catalog", catalog_.string()};
    if (std::find(args.begin(), args.end(), "--threads") == args.end()) all.insert(all.end(), {"--threads", "1"});
    if (std::find(args.begin(), args.end(), "--online") == args.end()) all.push_back("--offline");
    else args.erase(std::find(args.begin(), args.end(), "--online"));
    all.insert(all.end(), args.begin(), args.end());
    env.emplace("MOODTUNES_SPOTIFY_CONFIG", (dir_ / "spotify.json").string());
    env.emplace("MOODTUNES_API_KEY", "");
    server_ = std::make_unique<ServerProcess>(all, dir_.path(), env, cwd);
    return *server_;
  }

  void TearDown() override {
    if (!server_) return;
    // No answer of the whole test may have been a 500.
    auto c = server_->client();
    httplib::Headers auth;
    if (!key_.empty()) auth = {{"X-API-Key", key_}};
    if (auto r = c->Get("/metrics", auth); r && r->status == 200) {
      EXPECT_EQ(r->body.find("status=\"500\""), std::string::npos) << r->body;
    }
    EXPECT_EQ(server_->stop(), 0) << "SIGTERM must stop the server cleanly\n" << server_->output();
  }

  json post_json(const std::string& path, const json& body, int* status = nullptr) {
    auto r = server_->client()->Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(r) << "no answer from " << path;
    if (!r) return nullptr;
    if (status) *status = r->status;
    return r->body.empty() ? json(nullptr) : json::parse(r->body);
  }

  TempDir dir_;
  fs::path catalog_;
  std::unique_ptr<ServerProcess> server_;
  std::string key_;
};

#define REQUIRE_FACES(var)                                                             \
  const auto var = realfaces("happy");                                                 \
  if (!var.empty()) {                                                                   \
  } else                                                                               \
    GTEST_SKIP() << "realfaces/val not found (set MOODTUNES_DATA)"

// The first happy photo `moodtunes detect` reads as happy, with detect's JSON line for it.
std::pair<fs::path, json> happy_photo_and_detect(const std::vector<fs::path>& photos) {
  for (std::size_t i = 0; i < photos.size() && i < 10; ++i) {
    int status = -1;
    const std::string out = moodtunes::test::run_shell(std::string(MOODTUNES_BINARY) + " detect " + photos[i].string() + " 2>/dev/null", &status);
    const json j = json::parse(out, nullptr, false);
    if (status == 0 && !j.is_discarded() && j["faces"].size() == 1 && j["faces"][0]["emotion"] == "happy") return {photos[i], j};
  }
  return {};
}

void expect_error_json(const httplib::Result& r, int status) {
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, status) << r->body;
  const json j = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << "not JSON: " << r->body;
  EXPECT_TRUE(j.contains("error") && j["error"].is_string() && !j["error"].get<std::string>().empty()) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
}

void expect_security_headers(const httplib::Result& r) {
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r->get_header_value("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(r->get_header_value("X-Frame-Options"), "DENY");
  EXPECT_NE(r->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_NE(r->get_header_value("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
}

// Files under a folder, relative path -> size and modification time, for "nothing written here".
std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> listing(const fs::path& dir) {
  std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::error_code e2;
    const auto size = it->is_regular_file(e2) ? it->file_size(e2) : 0;
    out[fs::relative(it->path(), dir, e2).string()] = {size, it->last_write_time(e2)};
  }
  return out;
}

// A raw TCP connection to the server (for clients that misbehave on purpose).
int connect_raw(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

// ---- start, health, stop ---------------------------------------------------------------------

TEST_F(Serve, HealthSaysOkTheModelAndTheCatalogSize) {
  auto& s = start();
  EXPECT_NE(s.standard_output().find("moodtunes serving on http://127.0.0.1:"), std::string::npos);
  auto r = s.client()->Get("/api/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const json j = json::parse(r->body);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["model"], "accurate");
  EXPECT_EQ(j["tracks"], 240);
  expect_security_headers(r);
}

TEST_F(Serve, RefusesAHostOthersCanReachWithoutAnApiKey) {
  int status = -1;
  const std::string out = moodtunes::test::run_shell("env -u MOODTUNES_API_KEY " + std::string(MOODTUNES_BINARY) +
                                                     " serve --host 0.0.0.0 --port 0 --catalog " + catalog_.string() + " 2>&1",
                                                     &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("API key"), std::string::npos) << out;
  EXPECT_EQ(out.find("serving on"), std::string::npos) << out;
}

TEST_F(Serve, AMissingCatalogStillServesAndRecommendingSaysHowToBuildOne) {
  catalog_ = dir_ / "absent" / "catalog.sqlite";
  auto& s = start();
  EXPECT_EQ(json::parse(s.client()->Get("/api/health")->body)["tracks"], 0);
  int status = 0;
  const json j = post_json("/api/recommend", {{"emotion", "happy"}}, &status);
  EXPECT_EQ(status, 503);
  EXPECT_NE(j["error"].get<std::string>().find("catalog setup"), std::string::npos) << j;
  post_json("/api/feedback", {{"listener", "a"}, {"track_id", 1}, {"signal", "like"}}, &status);
  EXPECT_EQ(status, 503);
}

// ---- analyze -----------------------------------------------------------------------------------

TEST_F(Serve, AnalyzeReadsAPhotoAsDetectDoes) {
  REQUIRE_FACES(photos);
  const auto [photo, detect] = happy_photo_and_detect(photos);
  ASSERT_FALSE(photo.empty()) << "no happy photo among the first 10 that detect reads as happy";
  auto& s = start();
  const std::string bytes = read_text(photo);
  auto r = s.client()->Post("/api/analyze", bytes, "image/jpeg");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["schema"], 1);
  ASSERT_EQ(j["faces"].size(), 1u) << j;
  EXPECT_EQ(j["faces"][0]["emotion"], "happy");
  EXPECT_EQ(j["faces"], detect["faces"]) << "the server must read a photo exactly as `moodtunes detect` does";
  EXPECT_EQ(j["group"], detect["group"]);
  EXPECT_GT(j["mood"]["valence"].get<double>(), 0.3);
  EXPECT_EQ(j["image"]["width"], detect["width"]);
  EXPECT_EQ(j["image"]["height"], detect["height"]);
  EXPECT_EQ(j["second_look"], false);
  // auto looks again only where the default finds no face: here it finds one, so auto reads as the default.
  auto a = s.client()->Post("/api/analyze?small_faces=auto", bytes, "image/jpeg");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->status, 200) << a->body;
  EXPECT_EQ(json::parse(a->body)["faces"], j["faces"]);
  EXPECT_EQ(json::parse(a->body)["second_look"], false);

  httplib::MultipartFormDataItems form = {{"image", bytes, photo.filename().string(), "image/jpeg"}};
  auto m = s.client()->Post("/api/analyze", form);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200) << m->body;
  EXPECT_EQ(json::parse(m->body)["faces"], j["faces"]);

  httplib::MultipartFormDataItems wrong_field = {{"photo", bytes, "a.jpg", "image/jpeg"}};
  expect_error_json(s.client()->Post("/api/analyze", wrong_field), 400);
}

// ?small_faces=true reads as `detect --small-faces`, the default as `detect`: a lone 40 px face
// counts only with the option. ?small_faces=auto reads as the default where that finds a face,
// else as the option, in one request, and says which (second_look).
TEST_F(Serve, AnalyzeSmallFacesReportsALoneSmallFaceAsDetectDoes) {
  if (!have_data()) GTEST_SKIP() << "FER data not found (set MOODTUNES_DATA)";
  const auto scenes = lone_small_face_scenes(6);
  ASSERT_EQ(scenes.size(), 6u);
  std::string files;
  std::vector<std::string> pngs;
  for (std::size_t i = 0; i < scenes.size(); ++i) {
    pngs.push_back(encode(scenes[i], ".png"));
    const fs::path file = dir_ / ("small" + std::to_string(i) + ".png");
    std::ofstream(file, std::ios::binary) << pngs.back();
    files += " " + file.string();
  }
  auto detect_lines = [&](const std::string& flags) {
    int status = -1;
    std::istringstream out(moodtunes::test::run_shell(std::string(MOODTUNES_BINARY) + " detect" + flags + files + " 2>/dev/null", &status));
    std::vector<json> lines;
    for (std::string l; std::getline(out, l);) lines.push_back(json::parse(l));
    return lines;
  };
  const auto plain_detect = detect_lines(""), small_detect = detect_lines(" --small-faces");
  ASSERT_EQ(plain_detect.size(), scenes.size());
  ASSERT_EQ(small_detect.size(), scenes.size());

  auto c = start().client(300);  // a sanitizer build at -O0 takes about a minute a photo
  std::size_t plain_found = 0, small_found = 0;
  for (std::size_t i = 0; i < scenes.size(); ++i) {
    auto plain = c->Post("/api/analyze", pngs[i], "image/png");
    auto small = c->Post("/api/analyze?small_faces=true", pngs[i], "image/png");
    ASSERT_TRUE(plain && small);
    ASSERT_EQ(plain->status, 200) << plain->body;
    ASSERT_EQ(small->status, 200) << small->body;
    const json p = json::parse(plain->body), q = json::parse(small->body);
    EXPECT_EQ(p["faces"], plain_detect[i]["faces"]) << i;
    EXPECT_EQ(q["faces"], small_detect[i]["faces"]) << i;
    EXPECT_EQ(p["second_look"], false);
    EXPECT_EQ(q["second_look"], false);
    // The default says where it left a lone small face out.
    EXPECT_EQ(p["warnings"].dump().find("small_faces=auto reports it") != std::string::npos,
              p["faces"].empty() && !q["faces"].empty()) << p;
    auto both = c->Post("/api/analyze?small_faces=auto", pngs[i], "image/png");
    ASSERT_TRUE(both);
    ASSERT_EQ(both->status, 200) << both->body;
    const json a = json::parse(both->body);
    const bool looked_again = plain_detect[i]["faces"].empty() && !small_detect[i]["faces"].empty();
    EXPECT_EQ(a["faces"], (looked_again ? small_detect : plain_detect)[i]["faces"]) << i;
    EXPECT_EQ(a["second_look"], looked_again) << i;
    plain_found += !p["faces"].empty();
    small_found += !q["faces"].empty();
  }
  EXPECT_LE(plain_found, 3u);
  EXPECT_GE(small_found, plain_found + 3);
  // 0 is false: the first photo whose face only the option finds reads as without it.
  for (std::size_t i = 0; i < scenes.size(); ++i) {
    if (small_detect[i]["faces"].empty() || !plain_detect[i]["faces"].empty()) continue;
    auto off = c->Post("/api/analyze?small_faces=0", pngs[i], "image/png");
    ASSERT_TRUE(off);
    ASSERT_EQ(off->status, 200) << off->body;
    EXPECT_EQ(json::parse(off->body)["faces"], plain_detect[i]["faces"]) << i;
    break;
  }
  auto bad = c->Post("/api/analyze?small_faces=maybe", pngs[0], "image/png");
  expect_error_json(bad, 400);
  EXPECT_NE(bad->body.find("small_faces"), std::string::npos) << bad->body;
}

TEST_F(Serve, AnalyzeWithoutAFaceAnswersNoFaces) {
  auto& s = start();
  cv::Mat blank(240, 320, CV_8UC3, cv::Scalar(40, 160, 90));
  for (const std::string ext : {".jpg", ".png", ".bmp", ".webp"}) {
    const std::string type = ext == ".jpg" ? "image/jpeg" : "image/" + ext.substr(1);
    auto r = s.client()->Post("/api/analyze", encode(blank, ext), type.c_str());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << type << ": " << r->body;
    const json j = json::parse(r->body);
    EXPECT_TRUE(j["faces"].empty());
    EXPECT_TRUE(j["group"].is_null());
    EXPECT_TRUE(j["mood"].is_null());
    EXPECT_EQ(j["image"], json({{"width", 320}, {"height", 240}}));
  }
}

TEST_F(Serve, BadImagesAreClientErrorsNeverServerErrors) {
  auto& s = start();
  auto c = s.client();
  expect_error_json(c->Post("/api/analyze", "", "image/jpeg"), 400);  // zero bytes
  std::mt19937 rng(7);
  std::string noise(5000, '\0');
  for (auto& ch : noise) ch = static_cast<char>(rng());
  expect_error_json(c->Post("/api/analyze", noise, "image/jpeg"), 400);
  // A PNG whose header claims 60000 x 60000 pixels: refused before any decoding.
  const unsigned char bomb[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60, 8, 2, 0, 0, 0, 0x00, 0x00, 0x00, 0x00};
  auto r = c->Post("/api/analyze", std::string(reinterpret_cast<const char*>(bomb), sizeof bomb), "image/png");
  expect_error_json(r, 400);
  EXPECT_NE(r->body.find("too large"), std::string::npos) << r->body;
  // A JPEG's header followed by garbage, and a JPEG cut short.
  const std::string jpeg = encode(cv::Mat(200, 200, CV_8UC3, cv::Scalar(1, 2, 3)));
  expect_error_json(c->Post("/api/analyze", jpeg.substr(0, 20) + noise, "image/jpeg"), 400);
  for (std::size_t cut : {std::size_t{2}, std::size_t{100}, jpeg.size() / 2}) {
    auto t = c->Post("/api/analyze", jpeg.substr(0, cut), "image/jpeg");
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->status == 200 || t->status == 400) << cut << ": " << t->status << " " << t->body;
    EXPECT_FALSE(json::parse(t->body, nullptr, false).is_discarded());
  }
  // The declared type does not matter to the decoder (it sniffs), only that it is an image type.
  EXPECT_EQ(c->Post("/api/analyze", jpeg, "image/png")->status, 200);
  expect_error_json(c->Post("/api/analyze", jpeg, "text/plain"), 415);
  expect_error_json(c->Post("/api/analyze", jpeg, "application/octet-stream"), 415);
  httplib::Headers none;
  expect_error_json(c->Post("/api/analyze", none, jpeg, ""), 415);
}

TEST_F(Serve, BodiesOverTheLimitAre413) {
  auto& s = start({"--max-body", "64KiB"});
  auto c = s.client();
  expect_error_json(c->Post("/api/analyze", std::string(100 * 1024, 'x'), "image/jpeg"), 413);
  expect_error_json(c->Post("/api/recommend", std::string(70 * 1024, ' '), "application/json"), 413);
  // A chunked body has no Content-Length to refuse up front: it is counted as it arrives.
  const int fd = connect_raw(s.port());
  ASSERT_GE(fd, 0);
  std::string chunked = "POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) chunked += "2000\r\n" + std::string(0x2000, 'y') + "\r\n";  // 160 KiB
  chunked += "0\r\n\r\n";
  ASSERT_EQ(::send(fd, chunked.data(), chunked.size(), MSG_NOSIGNAL), static_cast<ssize_t>(chunked.size()));
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[512];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  ASSERT_GT(n, 12);
  EXPECT_EQ(std::string(buf, 12), "HTTP/1.1 413");
  // Still serving, and a body under the limit goes through.
  EXPECT_EQ(c->Get("/api/health")->status, 200);
  EXPECT_EQ(c->Post("/api/analyze", encode(cv::Mat(100, 100, CV_8UC3, cv::Scalar(9, 9, 9))), "image/jpeg")->status, 200);
}

// ---- recommend ---------------------------------------------------------------------------------

TEST_F(Serve, RecommendTakesEachFormOfMoodWithEachStrategy) {
  start();
  json probabilities = json::object();
  for (const auto& e : kEmotions) probabilities[e] = e == "sad" ? 0.6 : 0.4 / 6;
  const std::vector<json> moods = {{{"emotion", "happy"}},
                                   {{"probabilities", probabilities}},
                                   {{"valence", -0.3}, {"arousal", 0.6}}};
  for (const auto& mood : moods) {
    for (const auto& strategy : kStrategies) {
      json body = mood;
      body["strategy"] = strategy;
      body["n"] = 7;
      body["listener"] = "listener-1";
      body["seed"] = 42;
      int status = 0;
      const json j = post_json("/api/recommend", body, &status);
      ASSERT_EQ(status, 200) << body << " -> " << j;
      EXPECT_EQ(j["schema"], 1);
      EXPECT_EQ(j["strategy"], strategy);
      EXPECT_EQ(j["online"], false);
      EXPECT_TRUE(j["mood"].contains("valence") && j["mood"].contains("arousal"));
      ASSERT_EQ(j["tracks"].size(), 7u) << j;
      for (const auto& t : j["tracks"]) {
        for (const char* field : {"id", "title", "artist", "valence", "arousal", "reason", "links"})
          EXPECT_TRUE(t.contains(field)) << field << " missing in " << t;
        EXPECT_TRUE(t["links"].contains("spotify"));
      }
    }
  }
  // Defaults: match, 10 tracks; the same request gives the same list.
  const json a = post_json("/api/recommend", {{"emotion", "neutral"}});
  EXPECT_EQ(a["strategy"], "match");
  EXPECT_EQ(a["tracks"].size(), 10u);
  EXPECT_EQ(post_json("/api/recommend", {{"emotion", "neutral"}}), a);
}

TEST_F(Serve, RecommendRefusesBadRequestsWith400) {
  auto& s = start();
  auto c = s.client();
  const std::vector<std::string> bad = {
      "{",                                                // malformed
      "[1, 2]",                                           // not an object
      "\"happy\"",                                        // not an object
      "{}",                                               // no mood
      R"({"emotion": "bored"})",                          // unknown emotion
      R"({"emotion": 3})",                                // wrong type
      R"({"emotion": "happy", "strategy": "sleepy"})",    // unknown strategy
      R"({"emotion": "happy", "strategy": 1})",
      R"({"emotion": "happy", "n": 0})",                  // out of range
      R"({"emotion": "happy", "n": 51})",
      R"({"emotion": "happy", "n": "5"})",
      R"({"emotion": "happy", "n": 2.5})",
      R"({"emotion": "happy", "seed": -1})",
      R"({"emotion": "happy", "valence": 0.1, "arousal": 0.1})",  // two moods
      R"({"valence": 0.5})",                                       // half a point
      R"({"valence": 2, "arousal": 0})",                            // outside [-1, 1]
      R"({"valence": "high", "arousal": 0})",
      R"({"probabilities": {"happy": -1}})",
      R"({"probabilities": {"joy": 1}})",
      R"({"probabilities": [0.1, 0.2]})",
      R"({"probabilities": {"happy": 0, "sad": 0}})",               // sums to 0
      R"({"emotion": "happy", "listener": ""})",
      R"({"emotion": "happy", "listener": ")" + std::string(129, 'x') + R"("})",
  };
  for (const auto& body : bad) {
    auto r = c->Post("/api/recommend", body, "application/json");
    SCOPED_TRACE(body);
    expect_error_json(r, 400);
  }
  expect_error_json(c->Post("/api/recommend", R"({"emotion": "happy"})", "text/plain"), 415);
  expect_error_json(c->Post("/api/recommend", "emotion=happy", "application/x-www-form-urlencoded"), 415);
}

TEST_F(Serve, AnUnreachableProviderDegradesFastAndSaysOffline) {
  // Deezer pointed at a closed port: the first call fails at once, later calls do not retry it.
  auto& s = start({"--online"}, {{"MOODTUNES_DEEZER_API", "http://127.0.0.1:9"}});
  for (int i = 0; i < 2; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    int status = 0;
    const json j = post_json("/api/recommend", {{"emotion", "sad"}, {"n", 5}}, &status);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(status, 200) << j;
    EXPECT_EQ(j["online"], false);
    EXPECT_EQ(j["tracks"].size(), 5u);
    EXPECT_LT(seconds, 5.0);
  }
  EXPECT_EQ(json::parse(s.client()->Get("/api/health")->body)["offline"], false);
}

// ---- feedback ----------------------------------------------------------------------------------

TEST_F(Serve, FeedbackIsStoredOncePerEvent) {
  start();
  const json rec = post_json("/api/recommend", {{"emotion", "happy"}, {"n", 3}});
  const std::int64_t track = rec["tracks"][0]["id"];
  int status = 0;
  post_json("/api/feedback", {{"listener", "ana"}, {"track_id", track}, {"signal", "like"}, {"event_id", "e-1"}}, &status);
  EXPECT_EQ(status, 204);
  post_json("/api/feedback", {{"listener", "ana"}, {"track_id", track}, {"signal", "like"}, {"event_id", "e-1"}}, &status);
  EXPECT_EQ(status, 204) << "a repeated event is answered alike";
  post_json("/api/feedback", {{"listener", "ana"}, {"track_id", track}, {"signal", "skip"}}, &status);
  EXPECT_EQ(status, 204);
  post_json("/api/feedback", {{"listener", "bo"}, {"track_id", rec["tracks"][1]["id"]}, {"signal", "dislike"}, {"event_id", "e-2"}}, &status);
  EXPECT_EQ(status, 204);

  const fs::path store = catalog_.parent_path() / "listeners.sqlite";
  ASSERT_TRUE(fs::exists(store));
  EXPECT_EQ(count_rows(store, "SELECT COUNT(*) FROM feedback"), 3);
  EXPECT_EQ(count_rows(store, "SELECT COUNT(*) FROM feedback WHERE event_id='e-1'"), 1);
  EXPECT_EQ(count_rows(store, "SELECT COUNT(*) FROM feedback WHERE listener='ana' AND signal='skip'"), 1);

  auto c = server_->client();
  expect_error_json(c->Post("/api/feedback", json({{"listener", "ana"}, {"track_id", 999999}, {"signal", "like"}}).dump(), "application/json"), 404);
  for (const json& bad : {json{{"listener", "ana"}, {"track_id", track}, {"signal", "love"}},
                          json{{"listener", "ana"}, {"track_id", "1"}, {"signal", "like"}},
                          json{{"track_id", track}, {"signal", "like"}},
                          json{{"listener", "ana"}, {"signal", "like"}},
                          json{{"listener", "ana"}, {"track_id", track}, {"signal", "like"}, {"event_id", 5}}}) {
    SCOPED_TRACE(bad.dump());
    expect_error_json(c->Post("/api/feedback", bad.dump(), "application/json"), 400);
  }
  EXPECT_EQ(count_rows(store, "SELECT COUNT(*) FROM feedback"), 3);
}

// ---- live streams ------------------------------------------------------------------------------

TEST_F(Serve, ALiveStreamTracksAFaceOverFramesUntilClosed) {
  REQUIRE_FACES(photos);
  const cv::Mat face = cv::imread(photos.front().string());
  ASSERT_FALSE(face.empty());
  auto& s = start();
  auto c = s.client();
  c->set_keep_alive(true);  // as the page does: one connection for all frames
  auto created = c->Post("/api/streams");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const json stream = json::parse(created->body);
  const std::string id = stream["stream"];
  EXPECT_GE(id.size(), 32u);
  EXPECT_EQ(stream["idle_timeout_s"], 30);
  const std::string frames = "/api/streams/" + id + "/frames";

  std::set<int> track_ids;
  json last;
  for (int i = 0; i < 30; ++i) {
    const std::string jpeg = encode(frame_with_face(face, 180 + i * 2, 100 + (i % 3)));
    const std::string path = frames + "?t=" + std::to_string(i / 15.0);
    auto r = c->Post(path.c_str(), jpeg, "image/jpeg");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    last = json::parse(r->body);
    EXPECT_EQ(last["frame"], i + 1);
    EXPECT_EQ(last["stream"], id);
    for (const auto& f : last["faces"]) track_ids.insert(f["id"].get<int>());
  }
  ASSERT_EQ(last["faces"].size(), 1u) << last;
  const json& f = last["faces"][0];
  EXPECT_GT(f["id"].get<int>(), 0);
  EXPECT_TRUE(f.contains("smoothed") && f.contains("probabilities") && f.contains("box"));
  EXPECT_EQ(track_ids.size(), 1u) << "one face, followed as one track";
  EXPECT_FALSE(last["group"].is_null());
  EXPECT_FALSE(last["mood"].is_null());

  // Without t the server's receive time is used; a time going back is read as the last one.
  auto r = c->Post((frames + "?t=0.5").c_str(), encode(frame_with_face(face, 240, 100)), "image/jpeg");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_GE(json::parse(r->body)["t"].get<double>(), 29 / 15.0 - 1e-3);
  expect_error_json(c->Post((frames + "?t=soon").c_str(), encode(frame_with_face(face, 240, 100)), "image/jpeg"), 400);
  expect_error_json(c->Post(frames.c_str(), "not an image", "image/jpeg"), 400);
  expect_error_json(c->Post(frames.c_str(), "not an image", "text/plain"), 415);

  auto d = c->Delete(("/api/streams/" + id).c_str());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, 204);
  expect_error_json(c->Post(frames.c_str(), encode(frame_with_face(face, 240, 100)), "image/jpeg"), 404);
  expect_error_json(c->Delete(("/api/streams/" + id).c_str()), 404);
  expect_error_json(c->Post("/api/streams/unknown-stream/frames", encode(face), "image/jpeg"), 404);
}

TEST_F(Serve, StreamsAreLimitedAndIdleOnesExpire) {
  auto& s = start({"--max-streams", "2", "--stream-idle-timeout", "2"});
  auto c = s.client();
  auto a = c->Post("/api/streams");
  auto b = c->Post("/api/streams");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->status, 201);
  EXPECT_EQ(b->status, 201);
  auto full = c->Post("/api/streams");
  expect_error_json(full, 503);
  EXPECT_FALSE(full->get_header_value("Retry-After").empty());
  EXPECT_EQ(c->Delete(("/api/streams/" + json::parse(a->body)["stream"].get<std::string>()).c_str())->status, 204);
  auto again = c->Post("/api/streams");
  EXPECT_EQ(again->status, 201);
  const std::string kept = json::parse(b->body)["stream"];
  std::this_thread::sleep_for(std::chrono::milliseconds(2600));
  const std::string blank = encode(cv::Mat(480, 640, CV_8UC3, cv::Scalar(50, 50, 50)));
  expect_error_json(c->Post(("/api/streams/" + kept + "/frames").c_str(), blank, "image/jpeg"), 404);
  EXPECT_EQ(json::parse(c->Get("/api/health")->body)["streams_open"], 0);
  EXPECT_EQ(c->Post("/api/streams")->status, 201);
}

TEST_F(Serve, LiveFramesAreNeverWrittenToDisk) {
  const auto photos = realfaces("happy");
  const cv::Mat face = photos.empty() ? cv::Mat(240, 240, CV_8UC3, cv::Scalar(120, 140, 170)) : cv::imread(photos.front().string());
  TempDir work, tmp;
  const auto work_before = listing(work.path());
  const auto tmp_before = listing(tmp.path());
  const auto catalog_dir_before = listing(catalog_.parent_path());
  auto& s = start({}, {{"TMPDIR", tmp.path().string()}}, work.path());
  auto c = s.client();
  c->set_keep_alive(true);
  const std::string id = json::parse(c->Post("/api/streams")->body)["stream"];
  for (int i = 0; i < 50; ++i) {
    auto r = c->Post(("/api/streams/" + id + "/frames").c_str(), encode(frame_with_face(face, 150 + i, 120)), "image/jpeg");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  EXPECT_EQ(c->Post("/api/analyze", encode(face), "image/jpeg")->status, 200);
  EXPECT_EQ(listing(work.path()), work_before) << "the server's working folder changed";
  EXPECT_EQ(listing(tmp.path()), tmp_before) << "$TMPDIR changed";
  // Beside the catalog only the server's logs and SQLite's own journal files may appear.
  for (const auto& [name, _] : listing(catalog_.parent_path())) {
    if (!catalog_dir_before.contains(name)) {
      EXPECT_TRUE(name == "server.out" || name == "server.err" || name.ends_with("-wal") || name.ends_with("-shm")) << name;
    }
  }
}

// ---- routes, methods, limits -----------------------------------------------------------------

TEST_F(Serve, UnknownRoutesAre404AndWrongMethods405WithAllow) {
  auto& s = start();
  auto c = s.client();
  for (const char* path : {"/api/nope", "/api/", "/nope.js", "/api/streams/x/y/z", "/%2e%2e/CMakeLists.txt", "/../CMakeLists.txt"}) {
    SCOPED_TRACE(path);
    auto r = c->Get(path);
    expect_error_json(r, 404);
    expect_security_headers(r);
  }
  expect_error_json(c->Post("/api/nope", "{}", "application/json"), 404);
  struct Case { std::string method, path, allow; };
  for (const auto& k : std::vector<Case>{{"GET", "/api/analyze", "POST"},
                                         {"PUT", "/api/recommend", "POST"},
                                         {"DELETE", "/api/health", "GET, HEAD"},
                                         {"POST", "/api/health", "GET, HEAD"},
                                         {"GET", "/api/streams/abc", "DELETE"},
                                         {"GET", "/api/streams/abc/frames", "POST"},
                                         {"POST", "/metrics", "GET, HEAD"},
                                         {"PATCH", "/api/feedback", "POST"}}) {
    SCOPED_TRACE(k.method + " " + k.path);
    httplib::Request req;
    req.method = k.method;
    req.path = k.path;
    if (k.method != "GET" && k.method != "DELETE") {
      req.body = "{}";
      req.set_header("Content-Type", "application/json");
    }
    auto r = c->send(req);
    expect_error_json(r, 405);
    EXPECT_EQ(r->get_header_value("Allow"), k.allow);
  }
}

TEST_F(Serve, OverloadIsRefusedAtOnceWithRetryAfter) {
  REQUIRE_FACES(photos);
  // One worker and a queue of 4: a burst of 14 slow photos leaves most of them refused.
  auto& s = start({"--threads", "1"});
  cv::Mat big;
  cv::resize(cv::imread(photos.front().string()), big, cv::Size(1200, 1200));
  const std::string jpeg = encode(big);
  std::vector<std::future<std::pair<int, std::string>>> calls;
  for (int i = 0; i < 14; ++i)
    calls.push_back(std::async(std::launch::async, [&] {
      auto r = s.client()->Post("/api/analyze", jpeg, "image/jpeg");
      return r ? std::pair(r->status, r->get_header_value("Retry-After")) : std::pair(-1, std::string());
    }));
  int ok = 0, refused = 0;
  for (auto& f : calls) {
    const auto [status, retry_after] = f.get();
    if (status == 200) ++ok;
    else if (status == 503) {
      ++refused;
      EXPECT_FALSE(retry_after.empty());
    } else {
      ADD_FAILURE() << "status " << status;
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(refused, 1);
  EXPECT_LE(ok, 14 - refused);
  const std::string metrics = s.client()->Get("/metrics")->body;
  EXPECT_NE(metrics.find("moodtunes_rejected_total{reason=\"busy\"} " + std::to_string(refused)), std::string::npos) << metrics;
}

TEST_F(Serve, ASlowClientIsCutOffAndOthersAreStillServed) {
  auto& s = start({"--io-timeout", "1"});
  const int fd = connect_raw(s.port());
  ASSERT_GE(fd, 0);
  const std::string partial = "POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\nabc";
  ASSERT_EQ(::send(fd, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  timeval tv{8, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto t0 = std::chrono::steady_clock::now();
  char buf[4096];
  ssize_t n = 0;
  std::string answer;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, static_cast<std::size_t>(n));
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::close(fd);
  EXPECT_EQ(n, 0) << "the server should close the connection";
  EXPECT_LT(waited, 6.0);
  EXPECT_EQ(answer.find(" 500 "), std::string::npos) << answer;
  EXPECT_EQ(s.client()->Get("/api/health")->status, 200);
}

// ---- CORS and the API key ----------------------------------------------------------------------

TEST_F(Serve, CorsIsClosedUnlessOneOriginIsGiven) {
  {
    auto& s = start();
    auto c = s.client();
    httplib::Headers origin = {{"Origin", "http://evil.example"}};
    for (const auto& r : {c->Get("/api/health", origin), c->Post("/api/recommend", origin, R"({"emotion":"sad"})", "application/json"),
                          c->Options("/api/recommend", {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "POST"}})}) {
      ASSERT_TRUE(r);
      for (const auto& [name, value] : r->headers) EXPECT_EQ(name.rfind("Access-Control-", 0), std::string::npos) << name;
    }
    TearDown();
    server_.reset();
  }
  auto& s = start({"--cors", "https://allowed.example"});
  auto c = s.client();
  auto r = c->Post("/api/recommend", {{"Origin", "https://allowed.example"}}, R"({"emotion":"sad"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "https://allowed.example");
  auto pre = c->Options("/api/recommend", {{"Origin", "https://allowed.example"}, {"Access-Control-Request-Method", "POST"},
                                           {"Access-Control-Request-Headers", "content-type"}});
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_EQ(pre->get_header_value("Access-Control-Allow-Origin"), "https://allowed.example");
  EXPECT_NE(pre->get_header_value("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  EXPECT_NE(pre->get_header_value("Access-Control-Allow-Headers").find("Content-Type"), std::string::npos);
  auto other = c->Get("/api/health", {{"Origin", "https://allowed.example.evil"}});
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->has_header("Access-Control-Allow-Origin"));
}

TEST_F(Serve, TheApiKeyGuardsTheApiButNotHealthOrThePageAndIsNeverShown) {
  const std::string key = "SECRETKEY";
  key_ = key;
  auto& s = start({"--api-key", key});
  auto c = s.client();
  const std::string body = R"({"emotion":"happy","n":2})";
  EXPECT_EQ(c->Get("/api/health")->status, 200);
  EXPECT_EQ(c->Get("/")->status, 200);
  auto no_key = c->Post("/api/recommend", body, "application/json");
  expect_error_json(no_key, 401);
  EXPECT_EQ(no_key->get_header_value("WWW-Authenticate"), "Bearer");
  expect_error_json(c->Post("/api/recommend", {{"Authorization", "Bearer SECRETKEz"}}, body, "application/json"), 401);
  expect_error_json(c->Post("/api/recommend", {{"X-API-Key", "SECRETKEYS"}}, body, "application/json"), 401);
  expect_error_json(c->Post("/api/streams"), 401);
  expect_error_json(c->Get("/metrics"), 401);
  expect_error_json(c->Get("/api/openapi.json"), 401);
  EXPECT_EQ(c->Post("/api/recommend", {{"Authorization", "Bearer " + key}}, body, "application/json")->status, 200);
  EXPECT_EQ(c->Post("/api/recommend", {{"X-API-Key", key}}, body, "application/json")->status, 200);
  // A key in a query string (a client's mistake) must not reach the log either.
  EXPECT_EQ(c->Get(("/api/health?api_key=" + key).c_str())->status, 200);
  auto bad = c->Post("/api/recommend", {{"X-API-Key", key}}, R"({"emotion":")" + key + R"("})", "application/json");
  expect_error_json(bad, 400);
  std::vector<httplib::Result> answers;
  answers.push_back(c->Get("/api/health"));
  answers.push_back(c->Get("/api/spotify", {{"X-API-Key", key}}));
  answers.push_back(c->Get("/metrics", {{"X-API-Key", key}}));
  answers.push_back(c->Get("/api/openapi.json", {{"X-API-Key", key}}));
  for (const auto& r : answers) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body.find(key), std::string::npos);
    for (const auto& [name, value] : r->headers) EXPECT_EQ(value.find(key), std::string::npos) << name;
  }
  TearDown();
  const std::string log = s.output();
  EXPECT_NE(log.find("serving on"), std::string::npos);
  EXPECT_EQ(log.find(key), std::string::npos) << log;
  server_.reset();
}

// ---- page, metrics, OpenAPI --------------------------------------------------------------------

TEST_F(Serve, ServesTheEmbeddedPageWithTypesAndNoCache) {
  auto& s = start();
  auto c = s.client();
  auto page = c->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-cache");
  expect_security_headers(page);
  const fs::path web = moodtunes::test::source_dir() / "web";
  if (!fs::is_directory(web)) return;
  const std::map<std::string, std::string> types = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"}, {".png", "image/png"}, {".json", "application/json"}, {".ico", "image/x-icon"},
      {".webmanifest", "application/manifest+json"}};
  for (const auto& e : fs::recursive_directory_iterator(web)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), web).generic_string();
    if (rel.find("/.") != std::string::npos || rel.front() == '.') continue;
    SCOPED_TRACE(rel);
    auto r = c->Get(("/" + rel).c_str());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->body, read_text(e.path())) << "rebuild after changing web/";
    if (auto t = types.find(e.path().extension().string()); t != types.end()) {
      EXPECT_EQ(r->get_header_value("Content-Type"), t->second);
    }
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache");
  }
  if (fs::exists(web / "index.html")) {
    EXPECT_EQ(page->body, read_text(web / "index.html"));
  }
}

TEST_F(Serve, MetricsCountRequestsByRoutePatternInPrometheusFormat) {
  auto& s = start();
  auto c = s.client();
  c->Get("/api/health");
  c->Get("/api/health");
  c->Get("/api/nope");
  const std::string id = json::parse(c->Post("/api/streams")->body)["stream"];
  c->Post(("/api/streams/" + id + "/frames").c_str(), encode(cv::Mat(480, 640, CV_8UC3, cv::Scalar(70, 70, 70))), "image/jpeg");
  // A request is counted once its response is written, so the client can ask /metrics before
  // the last request's count lands: ask until it has (2 s at most).
  auto r = c->Get("/metrics");
  for (int i = 0; i < 100 && r && r->body.find("route=\"/api/streams/{id}/frames\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r = c->Get("/metrics");
  }
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& m = r->body;
  for (const char* expected : {
           "# TYPE moodtunes_http_requests_total counter",
           "moodtunes_http_requests_total{route=\"/api/health\",method=\"GET\",status=\"200\"} 2",
           "moodtunes_http_requests_total{route=\"other\",method=\"GET\",status=\"404\"} 1",
           "moodtunes_http_requests_total{route=\"/api/streams/{id}/frames\",method=\"POST\",status=\"200\"} 1",
           "# TYPE moodtunes_http_request_duration_seconds histogram",
           "moodtunes_http_request_duration_seconds_bucket{route=\"/api/health\",le=\"+Inf\"} 2",
           "moodtunes_http_request_duration_seconds_count{route=\"/api/health\"} 2",
           "moodtunes_http_request_duration_seconds_sum{route=\"/api/health\"} ",
           "moodtunes_frames_analysed_total 1",
           "moodtunes_faces_analysed_total 0",
           "moodtunes_streams_open 1",
           "moodtunes_queue_depth 0",
           "moodtunes_rejected_total{reason=\"busy\"} 0"}) {
    EXPECT_NE(m.find(expected), std::string::npos) << expected << "\n" << m;
  }
  EXPECT_EQ(m.find(id), std::string::npos) << "a raw stream id in a label";
  // Every sample line is NAME{LABELS} VALUE or NAME VALUE.
  const std::regex sample(R"(^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$)");
  std::istringstream lines(m);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] != '#') {
      EXPECT_TRUE(std::regex_match(line, sample)) << line;
    }
}

TEST_F(Serve, EveryResponseMatchesTheOpenApiDocument) {
  auto& s = start({"--max-body", "256KiB"});
  auto c = s.client();
  auto spec = c->Get("/api/openapi.json");
  ASSERT_TRUE(spec);
  ASSERT_EQ(spec->status, 200);
  const json doc = json::parse(spec->body);
  EXPECT_EQ(doc["openapi"], "3.1.0");
  const SchemaValidator v(doc);
  int checked = 0;
  auto expect_conforms = [&](const std::string& path, const std::string& method, const httplib::Result& r) {
    ASSERT_TRUE(r) << method << " " << path;
    SCOPED_TRACE(method + " " + path + " -> " + std::to_string(r->status) + " " + r->body.substr(0, 300));
    ASSERT_TRUE(v.documents(path, method, r->status)) << "status not documented";
    const json schema = v.response_schema(path, method, r->status);
    if (schema.is_null()) {
      if (!doc["paths"][path][method]["responses"][std::to_string(r->status)].contains("content")) {
        EXPECT_TRUE(r->body.empty());
      }
    } else {
      const json body = json::parse(r->body);
      const auto errors = v.validate(body, schema);
      EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
    }
    ++checked;
  };
  const std::string json_type = "application/json";
  expect_conforms("/api/health", "get", c->Get("/api/health"));
  expect_conforms("/api/openapi.json", "get", spec);
  // analyze: a photo with a face when the data is here, a blank one, a broken one, a wrong type.
  if (const auto photos = realfaces("happy"); !photos.empty())
    expect_conforms("/api/analyze", "post", c->Post("/api/analyze", read_text(photos.front()), "image/jpeg"));
  expect_conforms("/api/analyze", "post", c->Post("/api/analyze", encode(cv::Mat(90, 90, CV_8UC3, cv::Scalar(5, 5, 5))), "image/jpeg"));
  expect_conforms("/api/analyze", "post", c->Post("/api/analyze", "junk", "image/jpeg"));
  expect_conforms("/api/analyze", "post", c->Post("/api/analyze", "junk", "text/plain"));
  expect_conforms("/api/analyze", "post", c->Post("/api/analyze", std::string(300 * 1024, 'x'), "image/jpeg"));
  // recommend, for each form of mood
  for (const json& body : {json{{"emotion", "fear"}, {"strategy", "calm"}, {"n", 4}},
                           json{{"probabilities", {{"happy", 1}}}},
                           json{{"valence", 0.2}, {"arousal", -0.4}, {"strategy", "energize"}}})
    expect_conforms("/api/recommend", "post", c->Post("/api/recommend", body.dump(), json_type.c_str()));
  expect_conforms("/api/recommend", "post", c->Post("/api/recommend", "{", json_type.c_str()));
  expect_conforms("/api/recommend", "post", c->Post("/api/recommend", "{}", "text/plain"));
  const json rec = json::parse(c->Post("/api/recommend", R"({"emotion":"happy","n":2})", json_type.c_str())->body);
  // feedback
  const json fb = {{"listener", "x"}, {"track_id", rec["tracks"][0]["id"]}, {"signal", "like"}};
  expect_conforms("/api/feedback", "post", c->Post("/api/feedback", fb.dump(), json_type.c_str()));
  expect_conforms("/api/feedback", "post", c->Post("/api/feedback", R"({"listener":"x","track_id":-5,"signal":"like"})", json_type.c_str()));
  expect_conforms("/api/feedback", "post", c->Post("/api/feedback", R"({"listener":"x"})", json_type.c_str()));
  // listeners: a personalised list, the export, the erasure
  const json reaction = {{"listener", "x"}, {"track_id", rec["tracks"][1]["id"]}, {"signal", "reaction"},
                         {"mood", {{"valence", -0.5}, {"arousal", 0.1}}}, {"strategy", "uplift"},
                         {"reaction", {{"valence", 0.2}, {"arousal", 0.0}}}};
  expect_conforms("/api/feedback", "post", c->Post("/api/feedback", reaction.dump(), json_type.c_str()));
  expect_conforms("/api/recommend", "post", c->Post("/api/recommend", R"({"emotion":"sad","listener":"x"})", json_type.c_str()));
  expect_conforms("/api/listeners/{id}", "get", c->Get("/api/listeners/x"));
  expect_conforms("/api/listeners/{id}", "delete", c->Delete("/api/listeners/x"));
  // streams
  auto created = c->Post("/api/streams");
  expect_conforms("/api/streams", "post", created);
  const std::string id = json::parse(created->body)["stream"];
  cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(80, 90, 100));
  if (const auto photos = realfaces("happy"); !photos.empty()) frame = frame_with_face(cv::imread(photos.front().string()), 200, 100);
  for (int i = 0; i < 3; ++i)
    expect_conforms("/api/streams/{id}/frames", "post", c->Post(("/api/streams/" + id + "/frames").c_str(), encode(frame), "image/jpeg"));
  expect_conforms("/api/streams/{id}/frames", "post", c->Post(("/api/streams/" + id + "/frames?t=x").c_str(), encode(frame), "image/jpeg"));
  expect_conforms("/api/streams/{id}", "delete", c->Delete(("/api/streams/" + id).c_str()));
  expect_conforms("/api/streams/{id}", "delete", c->Delete(("/api/streams/" + id).c_str()));
  expect_conforms("/api/streams/{id}/frames", "post", c->Post(("/api/streams/" + id + "/frames").c_str(), encode(frame), "image/jpeg"));
  // Spotify (not logged in here)
  expect_conforms("/api/spotify", "get", c->Get("/api/spotify"));
  EXPECT_EQ(json::parse(c->Get("/api/spotify")->body)["logged_in"], false);
  auto playlist = c->Post("/api/playlist", R"({"emotion":"happy","n":3})", json_type.c_str());
  expect_conforms("/api/playlist", "post", playlist);
  EXPECT_EQ(playlist->status, 503);
  EXPECT_NE(playlist->body.find("spotify login"), std::string::npos) << playlist->body;
  expect_conforms("/api/playlist", "post", c->Post("/api/playlist", R"({"track_ids":[123456789]})", json_type.c_str()));
  expect_conforms("/api/playlist", "post", c->Post("/api/playlist", R"({"track_ids":"all"})", json_type.c_str()));
  expect_conforms("/metrics", "get", c->Get("/metrics"));
  expect_conforms("/", "get", c->Get("/"));
  EXPECT_GE(checked, 25);

  // Every route the server has is in the document.
  for (const char* path : {"/api/health", "/api/analyze", "/api/recommend", "/api/feedback", "/api/streams",
                           "/api/streams/{id}/frames", "/api/streams/{id}", "/api/playlist", "/api/spotify",
                           "/api/listeners/{id}", "/api/openapi.json", "/metrics", "/"})
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
}

TEST(OpenApiValidator, RejectsResponsesThatBreakTheirSchema) {
  // The validator itself: a document that is wrong about a response must fail it.
  const json doc = json::parse(read_text(moodtunes::test::source_dir() / "src/server/openapi.json"));
  const SchemaValidator v(doc);
  const json health = {{"status", "ok"}, {"model", "accurate"}, {"tracks", 3}};
  const json schema = v.response_schema("/api/health", "get", 200);
  EXPECT_TRUE(v.validate(health, schema).empty());
  EXPECT_FALSE(v.validate(json{{"status", "ok"}, {"model", "accurate"}}, schema).empty());               // required
  EXPECT_FALSE(v.validate(json{{"status", "ok"}, {"model", 1}, {"tracks", 3}}, schema).empty());         // type
  EXPECT_FALSE(v.validate(json{{"status", "fine"}, {"model", "a"}, {"tracks", 3}}, schema).empty());     // enum
  EXPECT_FALSE(v.validate(json{{"status", "ok"}, {"model", "a"}, {"tracks", 2.5}}, schema).empty());     // integer
  const json analysis = v.response_schema("/api/analyze", "post", 200);
  json a = {{"schema", 1}, {"faces", json::array()}, {"group", nullptr}, {"mood", nullptr},
            {"image", {{"width", 1}, {"height", 1}}}, {"second_look", false}, {"warnings", json::array()}};
  EXPECT_TRUE(v.validate(a, analysis).empty());  // null allowed by type arrays
  a["faces"] = json::array({{{"box", {{"x", 0}, {"y", 0}, {"w", 1}}}, {"emotion", "happy"}, {"probabilities", json::object()}}});
  EXPECT_GE(v.validate(a, analysis).size(), 2u);  // items: box.h missing, probabilities missing classes
  a["faces"] = json::array();
  a["image"] = nullptr;
  EXPECT_FALSE(v.validate(a, analysis).empty());
  // A wrong document: it claims a recommendation's tracks are strings.
  json wrong = doc;
  wrong["components"]["schemas"]["Recommendation"]["properties"]["tracks"]["items"] = {{"type", "string"}};
  const SchemaValidator w(wrong);
  const json rec = {{"schema", 1}, {"mood", {{"valence", 0}, {"arousal", 0}, {"description", "neutral"}}}, {"strategy", "match"},
                    {"goal", {{"valence", 0}, {"arousal", 0}}}, {"seed", 1}, {"online", false},
                    {"tracks", json::array({{{"id", 1}}})}};
  EXPECT_FALSE(w.validate(rec, w.response_schema("/api/recommend", "post", 200)).empty());
  // oneOf: exactly one branch.
  const json one_of = {{"oneOf", json::array({{{"required", {"a"}}}, {{"required", {"b"}}}})}};
  EXPECT_TRUE(v.validate(json{{"a", 1}}, one_of).empty());
  EXPECT_FALSE(v.validate(json{{"a", 1}, {"b", 2}}, one_of).empty());
  EXPECT_FALSE(v.validate(json::object(), one_of).empty());
}
