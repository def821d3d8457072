// `moodtunes listener export|forget` and `moodtunes feedback`: what a listener taught, seen,
// erased and added from the command line, in the same store the server uses (listeners.sqlite
// beside the catalog, or --db FILE|postgresql://...). docs/listeners.md.
#include <memory>
#include <optional>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "app/json.hpp"
#include "app/recommend.hpp"
#include "cli/commands.hpp"
#include "cli/validators.hpp"
#include "listeners/personal.hpp"
#include "listeners/store.hpp"
#include "music/catalog.hpp"
#include "music/recommender.hpp"

namespace moodtunes::cli {

namespace {

namespace fs = std::filesystem;

struct StoreOpt {
  std::string catalog, store;
  std::unique_ptr<listeners::ListenerStore> open() const {
    return listeners::open_store(store, app::catalog_file(catalog));
  }
};

void add_store_options(CLI::App* cmd, StoreOpt& o) {
  cmd->add_option("--catalog", o.catalog, "Catalog file (the store is listeners.sqlite beside it)");
  add_db_option(cmd, o.store);
}

}  // namespace

CLI::Option* add_db_option(CLI::App* cmd, std::string& where) {
  return cmd
      ->add_option("--db", where,
                   "Listener store: a postgresql:// URI (one store shared by several servers) or a SQLite file "
                   "(default listeners.sqlite beside the catalog)")
      ->envname("MOODTUNES_DB");
}

void add_listener_commands(CLI::App& app) {
  auto* ls = app.add_subcommand("listener", "What a listener taught by feedback: export it or erase it");
  ls->require_subcommand(1);
  {
    struct Opt : StoreOpt { std::string id; };
    auto o = std::make_shared<Opt>();
    auto* cmd = ls->add_subcommand("export", "Print everything stored about a listener (JSON) and what the model makes of it");
    cmd->add_option("id", o->id, "Listener id")->required();
    add_store_options(cmd, *o);
    cmd->callback([o] {
      const auto store = o->open();
      fmt::print("{}\n", app::dump(listeners::export_json(o->id, store->events(o->id)), 2));
    });
  }
  {
    struct Opt : StoreOpt { std::string id; };
    auto o = std::make_shared<Opt>();
    auto* cmd = ls->add_subcommand("forget", "Erase every event of a listener from the store");
    cmd->add_option("id", o->id, "Listener id")->required();
    add_store_options(cmd, *o);
    cmd->callback([o] {
      const auto store = o->open();
      fmt::print("erased {} event(s) of listener {}\n", store->forget(o->id), o->id);
    });
  }
  {
    struct Opt : StoreOpt {
      std::string id, signal, emotion, strategy, event_id;
      std::int64_t track = 0;
      std::optional<float> valence, arousal;
    };
    auto o = std::make_shared<Opt>();
    auto* cmd = app.add_subcommand("feedback", "Record a listener's like / skip / dislike of a track (what `recommend "
                                               "--listener` learns from)");
    cmd->add_option("--listener", o->id, "Listener id")->required();
    cmd->add_option("--track", o->track, "Track id (as `recommend` prints with --json)")->required();
    cmd->add_option("--signal", o->signal, "like | skip | dislike")->required()
        ->check(CLI::IsMember({"like", "skip", "dislike"}));
    auto* e = cmd->add_option("--emotion", o->emotion, "The mood when the track was served, as an emotion");
    auto* v = cmd->add_option("--valence", o->valence, "...or as valence in [-1, 1]")->check(finite_range(-1.0, 1.0));
    auto* a = cmd->add_option("--arousal", o->arousal, "...and arousal in [-1, 1]")->check(finite_range(-1.0, 1.0));
    e->excludes(v)->excludes(a);
    v->needs(a);
    a->needs(v);
    cmd->add_option("--strategy", o->strategy, "The list's strategy")->check(CLI::IsMember({"match", "uplift", "calm", "energize"}));
    cmd->add_option("--event-id", o->event_id, "Id of this event: a repeat is stored once");
    add_store_options(cmd, *o);
    cmd->callback([o] {
      listeners::Event ev;
      ev.listener = o->id;
      ev.track_id = o->track;
      ev.signal = *listeners::parse_signal(o->signal);
      ev.event_id = o->event_id;
      ev.strategy = o->strategy;
      if (!o->emotion.empty()) ev.mood = app::resolve_mood({.emotion = o->emotion}).point;
      if (o->valence && o->arousal) ev.mood = MoodPoint{*o->valence, *o->arousal};
      music::Catalog catalog(app::catalog_file(o->catalog), music::OpenMode::kReadOnly);
      const std::int64_t ids[] = {o->track};
      const auto found = catalog.get_many(ids);
      if (found.empty()) throw CliExit(kExitUsage, "no track with id " + std::to_string(o->track) + " in the catalog");
      ev.track = MoodPoint{found[0].valence, found[0].arousal};
      ev.artist = found[0].artist;
      const auto store = o->open();
      const bool stored = store->add(ev);
      fmt::print("{}{} of track {} for listener {}\n", stored ? "stored " : "already stored (same event id): ", o->signal,
                 o->track, o->id);
    });
  }
}

}  // namespace moodtunes::cli
