// Opens the listener store a flag or setting names: one function, so the server and the CLI
// read `--db` alike.
//
// `where`: a postgresql:// (or postgres://) URI → PostgresListenerStore; any other text → the
// SQLite file at that path; empty → listeners.sqlite beside `catalog`. Nothing is connected or
// created until the first call on the store (a server starts while its database is down, and
// serves unpersonalised lists until it returns). Ownership: the caller owns the store.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "listeners/event.hpp"

namespace moodtunes::listeners {

std::unique_ptr<ListenerStore> open_store(const std::string& where, const std::filesystem::path& catalog);

}  // namespace moodtunes::listeners
