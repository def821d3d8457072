// ListenerStore on a PostgreSQL server (libpqxx): the store for several `serve` processes, on one
// machine or many, behind any load balancer; what a listener taught one replica, every replica
// reads on its next request.
//
// Input: a libpq connection string, as a URI (postgresql://user:password@host:port/db?...) or
// as key=value pairs. connect_timeout=3 is added when the string has none, so an unreachable
// server fails a call in seconds rather than hanging it.
// Table feedback, with the same columns and rules as the SQLite store (UNIQUE(listener,
// event_id): a retried event is stored once; an event without an id always counts), created on
// first use under an advisory lock, so replicas starting together do not race on it.
// Durability: an add() that returned was committed by the server (synchronous_commit as the
// server is configured; on by default). forget() deletes the listener's rows and vacuums the
// table, so their space is reclaimed in the table's files; copies in the server's WAL and in
// backups age out as the server's own retention says (docs/listeners.md).
// Failure: every member throws app::Unavailable when the server cannot be reached or refuses;
// the connection is dropped and the next call connects again, so the store recovers by itself
// when the server returns. The password never appears in describe(), logs or messages.
// Thread-safety: a pool of up to `max_connections` connections; any thread may call any member,
// and calls beyond the pool's size wait for a free connection.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "listeners/event.hpp"

namespace moodtunes::listeners {

class PostgresListenerStore final : public ListenerStore {
 public:
  explicit PostgresListenerStore(std::string connection_string, std::size_t max_connections = 8);
  ~PostgresListenerStore() override;
  PostgresListenerStore(const PostgresListenerStore&) = delete;
  PostgresListenerStore& operator=(const PostgresListenerStore&) = delete;

  bool add(const Event& event) override;
  std::size_t add_many(const std::vector<Event>& events) override;
  std::vector<Event> events(const std::string& listener, std::size_t limit = 0) override;
  std::size_t count(const std::string& listener) override;
  std::size_t total() override;
  std::size_t forget(const std::string& listener) override;
  std::string describe() const override { return "postgresql " + redacted_; }

 private:
  struct Connection;  // one libpqxx connection
  // Runs `f` on a pooled connection (opening one, and the table, when needed).
  void with_connection(const std::function<void(Connection&)>& f);
  std::unique_ptr<Connection> connect();

  std::string conninfo_, redacted_;
  std::size_t max_connections_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;
  bool schema_ready_ = false;
};

// True for the connection strings the PostgreSQL store takes: postgresql:// or postgres:// URIs.
bool is_postgres_url(const std::string& where);

// `conninfo` with its password replaced by "***" (URI user:password@, password= pairs and
// ?password= parameters), for logs.
std::string redact_conninfo(const std::string& conninfo);

}  // namespace moodtunes::listeners
