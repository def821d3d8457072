// Per-listener learning over real HTTP: `moodtunes serve` as a child process, feedback in, a
// personalised list out, the export and the erasure (nothing of the listener left in the store).
#include <sqlite3.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/server_process.hpp"

using nlohmann::json;
using namespace moodtunes::test;
using moodtunes::test::TempDir;

namespace {

class ServeListeners : public ::testing::Test {
 protected:
  void SetUp() override { catalog_ = make_catalog(dir_.path(), 400); }
  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->stop(), 0) << server_->output();
    }
  }
  ServerProcess& start(std::vector<std::string> extra = {}) {
    if (server_) server_->stop();
    std::vector<std::string> args = {"--catalog", catalog_.string(), "--threads", "1", "--offline"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServerProcess>(args, dir_.path(),
                                              std::map<std::string, std::string>{{"MOODTUNES_API_KEY", ""},
                                                                                 {"MOODTUNES_SPOTIFY_CONFIG", (dir_ / "sp.json").string()}});
    return *server_;
  }
  json call(const std::string& method, const std::string& path, const json& body = nullptr, int* status = nullptr) {
    auto c = server_->client();
    httplib::Result r = method == "GET"      ? c->Get(path.c_str())
                        : method == "DELETE" ? c->Delete(path.c_str())
                                             : c->Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(r) << method << " " << path;
    if (!r) return nullptr;
    if (status) *status = r->status;
    return r->body.empty() ? json(nullptr) : json::parse(r->body);
  }
  std::vector<std::int64_t> ids(const json& rec) {
    std::vector<std::int64_t> out;
    for (const auto& t : rec["tracks"]) out.push_back(t["id"]);
    return out;
  }
  std::int64_t rows(const std::string& sql) { return moodtunes::test::count_rows(dir_ / "listeners.sqlite", sql); }

  TempDir dir_;
  fs::path catalog_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServeListeners, FeedbackPersonalisesExportsAndForgets) {
  start();
  const std::string who = "listener-5e1f0d";
  const json plain = call("POST", "/api/recommend", {{"emotion", "sad"}});
  json first = call("POST", "/api/recommend", {{"emotion", "sad"}, {"listener", who}});
  EXPECT_EQ(ids(first), ids(plain)) << "a new listener gets today's list";
  EXPECT_EQ(first["listener"]["personalised"], false);
  EXPECT_EQ(first["listener"]["events"], 0);

  // A lift-me listener: likes positive tracks, dislikes negative ones, whatever the face shows.
  int n = 0, status = 0;
  for (const char* emotion : {"sad", "happy", "angry", "neutral", "fear", "sad"}) {
    const json rec = call("POST", "/api/recommend", {{"emotion", emotion}, {"listener", who}, {"seed", ++n}});
    for (const auto& t : rec["tracks"]) {
      const double v = t["valence"];
      const json fb = {{"listener", who}, {"track_id", t["id"]}, {"signal", v > 0.2 ? "like" : (v < -0.2 ? "dislike" : "skip")},
                       {"event_id", "e-" + std::to_string(t["id"].get<std::int64_t>()) + "-" + emotion},
                       {"mood", rec["mood"]}, {"strategy", "match"}};
      call("POST", "/api/feedback", fb, &status);
      ASSERT_EQ(status, 204);
      call("POST", "/api/feedback", fb, &status);  // a retry
      ASSERT_EQ(status, 204);
    }
  }
  EXPECT_EQ(rows("SELECT COUNT(*) FROM feedback WHERE listener='" + who + "'"), 60) << "retries counted once";
  const json mine = call("POST", "/api/recommend", {{"emotion", "sad"}, {"listener", who}});
  EXPECT_EQ(mine["listener"]["personalised"], true);
  EXPECT_EQ(mine["listener"]["events"], 60);
  int positive = 0, explained = 0;
  for (const auto& t : mine["tracks"]) {
    positive += t["valence"].get<double>() > 0.2;
    explained += t["reason"].get<std::string>().find("you liked") != std::string::npos;
  }
  EXPECT_GE(positive, 7) << mine.dump();
  EXPECT_GE(explained, 3) << mine.dump();

  // A face reaction is its own, weaker, event kind.
  const std::int64_t track = mine["tracks"][0]["id"];
  call("POST", "/api/feedback", {{"listener", who}, {"track_id", track}, {"signal", "reaction"},
                                 {"mood", {{"valence", -0.4}, {"arousal", -0.2}}}, {"reaction", {{"valence", 0.3}, {"arousal", 0}}}},
       &status);
  EXPECT_EQ(status, 204);
  for (const json& bad : {json{{"listener", who}, {"track_id", track}, {"signal", "reaction"}},
                          json{{"listener", who}, {"track_id", track}, {"signal", "like"}, {"reaction", {{"valence", 0.1}, {"arousal", 0}}}},
                          json{{"listener", who}, {"track_id", track}, {"signal", "like"}, {"mood", {{"valence", 3}, {"arousal", 0}}}},
                          json{{"listener", who}, {"track_id", track}, {"signal", "like"}, {"strategy", "sideways"}}}) {
    call("POST", "/api/feedback", bad, &status);
    EXPECT_EQ(status, 400) << bad;
  }

  const json ex = call("GET", "/api/listeners/" + who, nullptr, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(ex["listener"], who);
  EXPECT_EQ(ex["events"].size(), 61u);
  EXPECT_EQ(ex["events"].back()["signal"], "reaction");
  EXPECT_TRUE(ex["events"][0].contains("artist") && ex["events"][0].contains("track") && ex["events"][0].contains("mood"));
  EXPECT_GT(ex["profile"]["targets"]["sad"]["valence"].get<double>(), 0.0);

  const json gone = call("DELETE", "/api/listeners/" + who, nullptr, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(gone["deleted"], 61);
  EXPECT_EQ(call("GET", "/api/listeners/" + who)["events"].size(), 0u);
  EXPECT_EQ(rows("SELECT COUNT(*) FROM feedback WHERE listener='" + who + "'"), 0);
  for (const char* suffix : {"", "-wal"})
    EXPECT_EQ(read_text(fs::path((dir_ / "listeners.sqlite").string() + suffix)).find("5e1f0d"), std::string::npos)
        << "the listener's id left in listeners.sqlite" << suffix;
  const json after = call("POST", "/api/recommend", {{"emotion", "sad"}, {"listener", who}});
  EXPECT_EQ(ids(after), ids(plain)) << "forgotten: back to today's list";
}

TEST_F(ServeListeners, NoLearningServesTodaysListButStillStoresFeedback) {
  start({"--no-learning"});
  const json plain = call("POST", "/api/recommend", {{"emotion", "happy"}});
  int status = 0;
  for (const auto& t : plain["tracks"]) {
    call("POST", "/api/feedback", {{"listener", "bo"}, {"track_id", t["id"]}, {"signal", "dislike"}}, &status);
    EXPECT_EQ(status, 204);
  }
  const json mine = call("POST", "/api/recommend", {{"emotion", "happy"}, {"listener", "bo"}});
  EXPECT_EQ(ids(mine), ids(plain));
  EXPECT_EQ(mine["listener"]["personalised"], false);
  EXPECT_EQ(rows("SELECT COUNT(*) FROM feedback WHERE listener='bo'"), 10);
}

}  // namespace
