#include "listeners/postgres_store.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <ctime>
#include <optional>
#include <regex>

#include "app/errors.hpp"

namespace moodtunes::listeners {

namespace {

// Any constant shared by every replica: the advisory lock that serialises creating the table.
constexpr long long kSchemaLock = 0x6d6f6f6474756e65;

constexpr const char* kCreate =
    "CREATE TABLE IF NOT EXISTS feedback("
    "  id BIGSERIAL PRIMARY KEY,"
    "  listener TEXT NOT NULL,"
    "  track_id BIGINT NOT NULL,"
    "  signal TEXT NOT NULL CHECK(signal IN ('like','skip','dislike','reaction')),"
    "  event_id TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  mood_valence DOUBLE PRECISION, mood_arousal DOUBLE PRECISION, strategy TEXT,"
    "  track_valence DOUBLE PRECISION, track_arousal DOUBLE PRECISION, artist TEXT,"
    "  reaction_valence DOUBLE PRECISION, reaction_arousal DOUBLE PRECISION,"
    "  UNIQUE(listener, event_id));"
    "CREATE INDEX IF NOT EXISTS feedback_listener_id ON feedback(listener, id);";

constexpr const char* kInsert =
    "INSERT INTO feedback(listener, track_id, signal, event_id, created_at, mood_valence, mood_arousal, strategy, "
    "track_valence, track_arousal, artist, reaction_valence, reaction_arousal) "
    "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) ON CONFLICT (listener, event_id) DO NOTHING";

std::optional<std::string> text_or_null(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}
std::optional<double> valence_of(const std::optional<MoodPoint>& p) {
  return p ? std::optional<double>(p->valence) : std::nullopt;
}
std::optional<double> arousal_of(const std::optional<MoodPoint>& p) {
  return p ? std::optional<double>(p->arousal) : std::nullopt;
}

std::optional<MoodPoint> point_at(const pqxx::row& r, int i) {
  if (r[i].is_null() || r[i + 1].is_null()) return std::nullopt;
  return MoodPoint{static_cast<float>(r[i].as<double>()), static_cast<float>(r[i + 1].as<double>())};
}

std::string text_at(const pqxx::row& r, int i) { return r[i].is_null() ? std::string() : r[i].as<std::string>(); }

bool insert(pqxx::work& tx, const Event& e) {
  const auto sig = std::string(signal_name(e.signal));
  const std::int64_t at = e.created_at ? e.created_at : static_cast<std::int64_t>(std::time(nullptr));
  const auto r = tx.exec_prepared("insert", e.listener, e.track_id, sig, text_or_null(e.event_id), at,
                                valence_of(e.mood), arousal_of(e.mood), text_or_null(e.strategy), valence_of(e.track),
                                arousal_of(e.track), text_or_null(e.artist), valence_of(e.reaction),
                                arousal_of(e.reaction));
  return r.affected_rows() > 0;
}

std::string with_timeout(std::string conninfo) {
  if (conninfo.find("connect_timeout") != std::string::npos) return conninfo;
  if (is_postgres_url(conninfo)) return conninfo + (conninfo.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=3";
  return conninfo + (conninfo.empty() ? "" : " ") + "connect_timeout=3";
}

}  // namespace

bool is_postgres_url(const std::string& where) {
  return where.rfind("postgresql://", 0) == 0 || where.rfind("postgres://", 0) == 0;
}

std::string redact_conninfo(const std::string& conninfo) {
  static const std::regex uri_password(R"(^(postgres(?:ql)?://[^:@/?#]*):[^@/?#]*@)");
  static const std::regex param_password(R"(([?&]password=)[^&#]*)", std::regex::icase);
  static const std::regex pair_password(R"((\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+))", std::regex::icase);
  std::string out = std::regex_replace(conninfo, uri_password, "$1:***@");
  out = std::regex_replace(out, param_password, "$1***");
  if (!is_postgres_url(conninfo)) out = std::regex_replace(out, pair_password, "$1***");
  return out;
}

struct PostgresListenerStore::Connection {
  explicit Connection(const std::string& conninfo) : c(conninfo) {}
  pqxx::connection c;
};

PostgresListenerStore::PostgresListenerStore(std::string connection_string, std::size_t max_connections)
    : conninfo_(with_timeout(std::move(connection_string))),
      redacted_(redact_conninfo(conninfo_)),
      max_connections_(std::max<std::size_t>(1, max_connections)) {}

PostgresListenerStore::~PostgresListenerStore() = default;

std::unique_ptr<PostgresListenerStore::Connection> PostgresListenerStore::connect() {
  auto conn = std::make_unique<Connection>(conninfo_);
  pqxx::connection* c = &conn->c;
  bool ready;
  {
    std::lock_guard lock(mu_);
    ready = schema_ready_;
  }
  if (!ready) {
    pqxx::work tx(*c);
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kSchemaLock);
    tx.exec(kCreate);
    tx.commit();
    std::lock_guard lock(mu_);
    schema_ready_ = true;
  }
  c->prepare("insert", kInsert);
  return conn;
}

void PostgresListenerStore::with_connection(const std::function<void(Connection&)>& f) {
  std::unique_ptr<Connection> c;
  {
    std::unique_lock lock(mu_);
    freed_.wait(lock, [&] { return !idle_.empty() || open_ < max_connections_; });
    if (!idle_.empty()) {
      c = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // reserved before connecting, so the pool never exceeds its size
    }
  }
  auto give_back = [&](bool keep) {
    std::lock_guard lock(mu_);
    if (keep && c) idle_.push_back(std::move(c));
    else --open_;
    freed_.notify_one();
  };
  try {
    if (!c) c = connect();
    f(*c);
  } catch (const pqxx::broken_connection& e) {
    give_back(false);  // the next call connects again: recovery when the server returns
    throw app::Unavailable("listener store (" + redacted_ + ") is unreachable: " + redact_conninfo(e.what()));
  } catch (const pqxx::sql_error& e) {
    give_back(c && c->c.is_open());
    throw app::Unavailable("listener store (" + redacted_ + "): " + redact_conninfo(e.what()));
  } catch (const std::exception& e) {
    give_back(false);
    throw app::Unavailable("listener store (" + redacted_ + "): " + redact_conninfo(e.what()));
  }
  give_back(c->c.is_open());
}

bool PostgresListenerStore::add(const Event& event) {
  bool added = false;
  with_connection([&](Connection& conn) {
    pqxx::work tx(conn.c);
    added = insert(tx, event);
    tx.commit();
  });
  return added;
}

std::size_t PostgresListenerStore::add_many(const std::vector<Event>& events) {
  std::size_t added = 0;
  with_connection([&](Connection& conn) {
    added = 0;
    pqxx::work tx(conn.c);
    for (const auto& e : events) added += insert(tx, e) ? 1 : 0;
    tx.commit();
  });
  return added;
}

std::vector<Event> PostgresListenerStore::events(const std::string& listener, std::size_t limit) {
  std::vector<Event> out;
  with_connection([&](Connection& conn) {
    out.clear();
    pqxx::read_transaction tx(conn.c);
    // The newest `limit` (by id), returned oldest first; LIMIT NULL is no limit.
    const auto rows = tx.exec_params(
        "SELECT id, track_id, signal, event_id, created_at, mood_valence, mood_arousal, strategy, track_valence, "
        "track_arousal, artist, reaction_valence, reaction_arousal FROM feedback WHERE listener = $1 "
        "ORDER BY id DESC LIMIT $2",
        listener, limit ? std::optional<long long>(static_cast<long long>(limit)) : std::nullopt);
    out.reserve(rows.size());
    for (const auto& r : rows) {
      Event e;
      e.listener = listener;
      e.seq = r[0].as<std::int64_t>();
      e.track_id = r[1].as<std::int64_t>();
      e.signal = parse_signal(r[2].as<std::string>()).value_or(Signal::kSkip);
      e.event_id = text_at(r, 3);
      e.created_at = r[4].as<std::int64_t>();
      e.mood = point_at(r, 5);
      e.strategy = text_at(r, 7);
      e.track = point_at(r, 8);
      e.artist = text_at(r, 10);
      e.reaction = point_at(r, 11);
      out.push_back(std::move(e));
    }
  });
  std::reverse(out.begin(), out.end());
  return out;
}

std::size_t PostgresListenerStore::count(const std::string& listener) {
  std::size_t n = 0;
  with_connection([&](Connection& conn) {
    pqxx::read_transaction tx(conn.c);
    n = tx.exec_params1("SELECT COUNT(*) FROM feedback WHERE listener = $1", listener)[0].as<std::size_t>();
  });
  return n;
}

std::size_t PostgresListenerStore::total() {
  std::size_t n = 0;
  with_connection([&](Connection& conn) {
    pqxx::read_transaction tx(conn.c);
    n = tx.exec1("SELECT COUNT(*) FROM feedback")[0].as<std::size_t>();
  });
  return n;
}

std::size_t PostgresListenerStore::forget(const std::string& listener) {
  std::size_t n = 0;
  with_connection([&](Connection& conn) {
    {
      pqxx::work tx(conn.c);
      n = tx.exec_params0("DELETE FROM feedback WHERE listener = $1", listener).affected_rows();
      tx.commit();
    }
    // Reclaims the deleted rows' space in the table and its index (VACUUM runs outside a
    // transaction block).
    pqxx::nontransaction vacuum(conn.c);
    vacuum.exec("VACUUM feedback");
  });
  return n;
}

}  // namespace moodtunes::listeners
