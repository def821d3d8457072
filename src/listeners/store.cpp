#include "listeners/store.hpp"

#include "listeners/postgres_store.hpp"
#include "listeners/sqlite_store.hpp"

namespace moodtunes::listeners {

std::unique_ptr<ListenerStore> open_store(const std::string& where, const std::filesystem::path& catalog) {
  if (is_postgres_url(where)) return std::make_unique<PostgresListenerStore>(where);
  return std::make_unique<SqliteListenerStore>(where.empty() ? default_store_path(catalog) : std::filesystem::path(where));
}

}  // namespace moodtunes::listeners
