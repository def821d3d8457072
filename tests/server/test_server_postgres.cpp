// Listener feedback through several `moodtunes serve` replicas sharing one PostgreSQL store
// (a throwaway cluster, tests/pg_cluster.hpp): concurrent writers lose nothing and count each
// event once, a replica killed mid-load loses no acknowledged event, and the database going away
// gives 503 for feedback while recommendations are still served, unpersonalised, until it returns.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pg_cluster.hpp"
#include "server/server_process.hpp"

using nlohmann::json;
using namespace moodtunes::test;

namespace {

class ServePostgres : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = make_catalog(dir_.path(), 400);
    cluster_ = std::make_unique<PgCluster>(dir_.path());
    db_ = cluster_->create_database();
    db_name_ = db_.substr(db_.rfind('/') + 1);
  }
  // A replica: its own log folder, the shared catalog file and the shared PostgreSQL store.
  std::unique_ptr<ServerProcess> replica(const std::string& name) {
    const fs::path logs = dir_ / name;
    fs::create_directories(logs);
    return std::make_unique<ServerProcess>(
        std::vector<std::string>{"--catalog", catalog_.string(), "--threads", "1", "--offline", "--db", db_},
        logs, std::map<std::string, std::string>{{"MOODTUNES_API_KEY", ""}, {"MOODTUNES_DB", ""}});
  }
  static int post(httplib::Client& c, const std::string& path, const json& body, json* out = nullptr) {
    const auto r = c.Post(path.c_str(), body.dump(), "application/json");
    if (!r) return 0;  // no answer: the connection failed
    if (out && !r->body.empty()) *out = json::parse(r->body, nullptr, false);
    return r->status;
  }
  // Track ids the catalog holds (from a plain recommendation).
  std::vector<std::int64_t> track_ids(ServerProcess& s) {
    auto c = s.client();
    json rec;
    EXPECT_EQ(post(*c, "/api/recommend", {{"emotion", "happy"}, {"count", 10}}, &rec), 200);
    std::vector<std::int64_t> ids;
    for (const auto& t : rec["tracks"]) ids.push_back(t["id"]);
    return ids;
  }
  static json event(const std::string& listener, std::int64_t track, const std::string& id) {
    return {{"listener", listener}, {"track_id", track}, {"signal", "like"}, {"event_id", id},
            {"mood", {{"valence", -0.5}, {"arousal", -0.3}}}, {"strategy", "match"}};
  }
  std::int64_t count(const std::string& where = "true") {
    const std::string n = cluster_->sql(db_name_, "SELECT COUNT(*) FROM feedback WHERE " + where);
    return std::stoll(n);
  }

  TempDir dir_;
  fs::path catalog_;
  std::unique_ptr<PgCluster> cluster_;
  std::string db_;       // its URI
  std::string db_name_;  // the database's name, for psql
};

TEST_F(ServePostgres, EightClientsThroughTwoReplicasStoreEachEventOnce) {
  auto a = replica("a"), b = replica("b");
  const auto tracks = track_ids(*a);
  ASSERT_EQ(tracks.size(), 10u);
  constexpr int kClients = 8, kEvents = 500;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int k = 0; k < kClients; ++k) {
    clients.emplace_back([&, k] {
      auto ca = a->client(), cb = b->client();
      const std::string who = "client-" + std::to_string(k);
      for (int i = 0; i < kEvents; ++i) {
        const json e = event(who, tracks[i % tracks.size()], fmt::format("c{}-{}", k, i));
        // Alternate replicas, as a load balancer would; every 10th event is retried on the other
        // replica, as a client does when an answer is lost.
        httplib::Client& first = (i + k) % 2 ? *ca : *cb;
        httplib::Client& other = (i + k) % 2 ? *cb : *ca;
        if (post(first, "/api/feedback", e) != 204) ++failures;
        if (i % 10 == 0 && post(other, "/api/feedback", e) != 204) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0) << a->output() << b->output();
  EXPECT_EQ(count(), kClients * kEvents);
  EXPECT_EQ(count("listener = 'client-3'"), kEvents);
  // What one replica stored, the other reads.
  auto cb = b->client();
  json rec;
  ASSERT_EQ(post(*cb, "/api/recommend", {{"emotion", "sad"}, {"listener", "client-0"}}, &rec), 200);
  EXPECT_EQ(rec["listener"]["personalised"], true);
  EXPECT_GT(rec["listener"]["events"].get<int>(), 0);
  EXPECT_EQ(a->stop(), 0) << a->output();
  EXPECT_EQ(b->stop(), 0) << b->output();
}

TEST_F(ServePostgres, AReplicaKilledMidLoadLosesNoAcknowledgedEvent) {
  auto a = replica("a"), b = replica("b");
  const auto tracks = track_ids(*a);
  ASSERT_FALSE(tracks.empty());
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<int> acked_on_a{0};
  std::vector<std::thread> clients;
  for (int k = 0; k < 4; ++k) {
    clients.emplace_back([&, k] {
      auto ca = a->client(5);
      for (int i = 0; i < 2000; ++i) {
        const std::string id = fmt::format("k{}-{}", k, i);
        if (post(*ca, "/api/feedback", event("killed", tracks[i % tracks.size()], id)) != 204) break;  // a is gone
        std::lock_guard lock(mu);
        acknowledged.insert(id);
        ++acked_on_a;
      }
    });
  }
  while (acked_on_a.load() < 300) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  a->kill_now();
  for (auto& t : clients) t.join();
  ASSERT_GE(acknowledged.size(), 300u);
  ASSERT_LT(acknowledged.size(), 8000u) << "the replica was killed before the load ended";
  // Every acknowledged event is stored, once; an unacknowledged one at most once.
  const std::int64_t stored = count("listener = 'killed'");
  EXPECT_GE(stored, static_cast<std::int64_t>(acknowledged.size()));
  EXPECT_LE(stored, static_cast<std::int64_t>(acknowledged.size()) + 4);
  EXPECT_EQ(cluster_->sql(db_name_, "SELECT COUNT(DISTINCT event_id) FROM feedback WHERE listener = 'killed'"), std::to_string(stored));
  std::string missing;
  const std::string ids = cluster_->sql(db_name_, "SELECT string_agg(event_id, ',') FROM feedback WHERE listener = 'killed'");
  std::set<std::string> in_store;
  std::stringstream ss(ids);
  for (std::string id; std::getline(ss, id, ',');) in_store.insert(id);
  for (const auto& id : acknowledged)
    if (!in_store.count(id)) missing += id + " ";
  EXPECT_TRUE(missing.empty()) << "acknowledged but not stored: " << missing;
  // The surviving replica goes on writing to the same store.
  auto cb = b->client();
  EXPECT_EQ(post(*cb, "/api/feedback", event("killed", tracks[0], "after-kill")), 204);
  EXPECT_EQ(count("listener = 'killed'"), stored + 1);
  EXPECT_EQ(b->stop(), 0) << b->output();
}

TEST_F(ServePostgres, DatabaseGoneGives503ForFeedbackAndUnpersonalisedListsUntilItReturns) {
  auto a = replica("a");
  const auto tracks = track_ids(*a);
  ASSERT_FALSE(tracks.empty());
  auto c = a->client(30);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(post(*c, "/api/feedback", event("who", tracks[i % tracks.size()], fmt::format("e{}", i))), 204);
  json rec;
  ASSERT_EQ(post(*c, "/api/recommend", {{"emotion", "sad"}, {"listener", "who"}}, &rec), 200);
  EXPECT_EQ(rec["listener"]["personalised"], true);

  cluster_->stop();
  const auto t0 = std::chrono::steady_clock::now();
  json err;
  EXPECT_EQ(post(*c, "/api/feedback", event("who", tracks[0], "while-down"), &err), 503) << a->output();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10)) << "a clear answer, not a hang";
  EXPECT_TRUE(err.contains("error")) << err.dump();
  EXPECT_EQ(err.dump().find("password"), std::string::npos);
  json plain;
  ASSERT_EQ(post(*c, "/api/recommend", {{"emotion", "sad"}}, &plain), 200);
  ASSERT_EQ(post(*c, "/api/recommend", {{"emotion", "sad"}, {"listener", "who"}}, &rec), 200) << a->output();
  EXPECT_EQ(rec["listener"]["personalised"], false);
  EXPECT_NE(rec["listener"].value("note", "").find("unavailable"), std::string::npos) << rec.dump();
  EXPECT_EQ(rec["tracks"], plain["tracks"]) << "today's list while the store is away";
  auto h = c->Get("/api/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);

  cluster_->start();
  // The event the client retries once the store is back is stored, once.
  EXPECT_EQ(post(*c, "/api/feedback", event("who", tracks[0], "while-down")), 204) << a->output();
  EXPECT_EQ(post(*c, "/api/feedback", event("who", tracks[0], "while-down")), 204);
  EXPECT_EQ(count("listener = 'who'"), 21);
  ASSERT_EQ(post(*c, "/api/recommend", {{"emotion", "sad"}, {"listener", "who"}}, &rec), 200);
  EXPECT_EQ(rec["listener"]["personalised"], true);
  EXPECT_EQ(rec["listener"]["events"], 21);
  EXPECT_EQ(a->stop(), 0) << a->output();
}

}  // namespace
