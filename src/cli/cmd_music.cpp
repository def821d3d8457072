// `moodtunes catalog import|setup|stats|search`, `moodtunes recommend` and
// `moodtunes spotify login|logout|playlist`: the music side of the CLI (docs/music.md).
//
// The recommend sequence, provider wiring and JSON schema are src/app's; this file parses and
// prints. Base URLs can be redirected (app/providers.hpp). Secrets never reach stdout/stderr.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "app/catalog_index.hpp"
#include "app/json.hpp"
#include "app/providers.hpp"
#include "app/recommend.hpp"
#include "cli/commands.hpp"
#include "cli/validators.hpp"
#include "listeners/personal.hpp"
#include "listeners/store.hpp"
#include "mood/mood.hpp"
#include "music/catalog.hpp"
#include "music/importers.hpp"
#include "music/recommender.hpp"
#include "providers/dataset_download.hpp"
#include "providers/enricher.hpp"
#include "providers/spotify.hpp"
#include "providers/spotify_auth.hpp"

namespace moodtunes::cli {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace moodtunes::music;
using namespace moodtunes::providers;

namespace {

fs::path catalog_path(const std::string& flag) { return app::catalog_file(flag); }

std::string dump(const json& j) { return app::dump(j, 2); }

void print_report(const ImportReport& r, bool as_json) {
  if (as_json) { fmt::print("{}\n", r.to_json()); return; }
  fmt::print("imported {}: {} rows, {} new, {} updated, {} unchanged, {} bad ({:.2f} s)\n", r.source, r.rows, r.inserted,
             r.updated, r.unchanged, r.bad, r.seconds);
  for (const auto& w : r.warnings) fmt::print(stderr, "warning: {}\n", w);
  for (const auto& b : r.bad_rows) fmt::print(stderr, "bad row {}:{}: {}\n", b.file, b.line, b.reason);
  if (r.bad > r.bad_rows.size()) fmt::print(stderr, "... and {} more bad rows\n", r.bad - r.bad_rows.size());
}

// Downloads the pinned Deezer dataset into a temp folder, imports it with checksums required.
ImportReport download_and_import(Catalog& catalog, const std::string& url, bool strict) {
  const fs::path tmp = fs::temp_directory_path() / ("moodtunes-deezer-mood-" + random_token(12));
  struct Cleanup {
    fs::path p;
    ~Cleanup() { std::error_code ec; fs::remove_all(p, ec); }
  } cleanup{tmp};
  CurlHttpClient http;
  auto files = download_deezer_mood(http, tmp, url);
  return import_deezer_mood(catalog, files, {.strict = strict, .require_checksums = true});
}

bool looks_like_deezer_csv(const fs::path& p) {
  std::ifstream in(p);
  std::string header;
  std::getline(in, header);
  return header.find("dzr_sng_id") != std::string::npos && header.find("track_name") != std::string::npos;
}

// ---- mood options shared by recommend and spotify playlist ---------------------------------

struct MoodOptions {
  std::string emotion;
  std::vector<float> probs;
  std::optional<float> valence, arousal;
  std::string strategy = "match";
  std::size_t count = 10;
  std::uint64_t seed = 1;
  std::string session;
  bool allow_artist_repeats = false;
  std::string catalog;
};

void add_mood_options(CLI::App* cmd, MoodOptions& o) {
  auto* e = cmd->add_option("--emotion", o.emotion, "One emotion: angry|disgust|fear|happy|neutral|sad|surprise");
  auto* p = cmd->add_option("--probs", o.probs, "7 probabilities in the order angry disgust fear happy neutral sad surprise")
                ->expected(7)->delimiter(',');
  auto* v = cmd->add_option("--valence", o.valence, "Valence in [-1, 1]")->check(finite_range(-1.0, 1.0));
  auto* a = cmd->add_option("--arousal", o.arousal, "Arousal in [-1, 1]")->check(finite_range(-1.0, 1.0));
  e->excludes(p)->excludes(v)->excludes(a);
  p->excludes(v)->excludes(a);
  v->needs(a);
  a->needs(v);
  cmd->add_option("--strategy", o.strategy, "match | uplift | calm | energize")
      ->capture_default_str()->check(CLI::IsMember({"match", "uplift", "calm", "energize"}));
  cmd->add_option("-n,--count", o.count, "Number of tracks")->capture_default_str()->check(CLI::Range(1, 500));
  cmd->add_option("--seed", o.seed, "Seed: same seed, catalog and session give the same list")->capture_default_str()->check(seed_check());
  cmd->add_option("--session", o.session, "Listening session id: tracks served in it are never repeated");
  cmd->add_flag("--allow-artist-repeats", o.allow_artist_repeats, "Allow an artist more than once in the list");
  cmd->add_option("--catalog", o.catalog, "Catalog file (default $MOODTUNES_CATALOG or ~/.local/share/moodtunes/catalog.sqlite)");
}

app::RecommendOptions recommend_options(const MoodOptions& o) {
  return {.strategy = *parse_strategy(o.strategy),
          .count = o.count,
          .seed = o.seed,
          .session = o.session,
          .allow_artist_repeats = o.allow_artist_repeats};
}

app::ResolvedMood run_recommend_mood(const MoodOptions& o) {
  app::MoodInput in;
  in.emotion = o.emotion;
  if (!o.probs.empty()) {
    EmotionProbs p{};
    for (std::size_t i = 0; i < kNumEmotions; ++i) p[i] = o.probs[i];
    in.probs = p;
  }
  if (o.valence && o.arousal) in.point = MoodPoint{*o.valence, *o.arousal};
  return app::resolve_mood(in);
}

app::Recommendations run_recommend(const MoodOptions& o, Catalog& catalog) {
  const app::ResolvedMood mood = run_recommend_mood(o);  // before the catalog: a bad mood is a usage error
  return app::recommend(catalog, mood, recommend_options(o));
}

// ---- commands ------------------------------------------------------------------------------

void add_catalog_commands(CLI::App& app) {
  auto* cat = app.add_subcommand("catalog", "The offline music catalog (tracks with valence and arousal)");
  cat->require_subcommand(1);

  {  // import
    struct Opt {
      std::string path, format = "auto", source = "user", scale = "unit", catalog, url;
      bool strict = false, json = false;
    };
    auto o = std::make_shared<Opt>();
    auto* cmd = cat->add_subcommand("import", "Import tracks: the Deezer Mood Detection dataset (folder or CSV; "
                                              "downloaded and sha256-checked when no path is given) or your own CSV");
    cmd->add_option("path", o->path, "Deezer dataset folder, a Deezer CSV, or a generic CSV");
    cmd->add_option("--format", o->format, "auto | deezer-mood | csv")->capture_default_str()
        ->check(CLI::IsMember({"auto", "deezer-mood", "csv"}));
    cmd->add_option("--source", o->source, "Source name for a generic CSV (tracks are unique per source)")->capture_default_str();
    cmd->add_option("--scale", o->scale, "Generic CSV value scale: unit [0,1] | signed [-1,1] | sam9 [1,9] | zscore")
        ->capture_default_str()->check(CLI::IsMember({"unit", "signed", "sam9", "zscore"}));
    cmd->add_flag("--strict", o->strict, "Fail (and change nothing) if any row is bad");
    cmd->add_option("--url", o->url, "Base URL for the download (default: the pinned GitHub commit)");
    cmd->add_option("--catalog", o->catalog, "Catalog file");
    cmd->add_flag("--json", o->json, "Print the import report as JSON");
    cmd->callback([o] {
      Catalog catalog(catalog_path(o->catalog));
      ImportReport r;
      try {
        if (o->path.empty()) {
          if (o->format == "csv") throw CliExit(kExitUsage, "a generic CSV import needs a path");
          r = download_and_import(catalog, app::deezer_mood_url(o->url), o->strict);
        } else {
          const fs::path p(o->path);
          const bool deezer = o->format == "deezer-mood" ||
                              (o->format == "auto" && (fs::is_directory(p) || looks_like_deezer_csv(p)));
          if (deezer) {
            r = import_deezer_mood(catalog, deezer_mood_files(p), {.strict = o->strict});
          } else {
            GenericCsvOptions g;
            g.source = o->source;
            g.scale = parse_value_scale(o->scale);
            g.import.strict = o->strict;
            r = import_generic_csv(catalog, p, g);
          }
        }
      } catch (const ImportError& e) {
        for (std::size_t i = 0; i < e.report.bad_rows.size() && i < 20; ++i)
          fmt::print(stderr, "bad row {}:{}: {}\n", e.report.bad_rows[i].file, e.report.bad_rows[i].line,
                     e.report.bad_rows[i].reason);
        throw CliExit(kExitError, std::string("import failed, catalog unchanged: ") + e.what());
      } catch (const ProviderError& e) {
        throw CliExit(kExitError, std::string("download failed, catalog unchanged: ") + e.what());
      }
      print_report(r, o->json);
      // The good rows are in; the exit status still says that some were not, for scripts.
      if (r.bad > 0)
        throw CliExit(kExitPartial, std::to_string(r.bad) + " row(s) not imported (listed above); the other " +
                                        std::to_string(r.rows - r.bad) + " are in the catalog");
    });
  }

  {  // setup
    struct Opt { std::string data, catalog, url; };
    auto o = std::make_shared<Opt>();
    auto* cmd = cat->add_subcommand("setup", "Build the catalog if it is absent or empty: from DATA/deezer-mood "
                                             "($MOODTUNES_DATA) when present, else by downloading it");
    cmd->add_option("--data", o->data, "Folder holding train.csv, validation.csv, test.csv");
    cmd->add_option("--catalog", o->catalog, "Catalog file");
    cmd->add_option("--url", o->url, "Base URL for the download");
    cmd->callback([o] {
      Catalog catalog(catalog_path(o->catalog));
      if (auto n = catalog.size(); n > 0) {
        fmt::print("catalog {} already has {} tracks\n", catalog.path().string(), n);
        return;
      }
      fs::path dir = o->data;
      if (dir.empty())
        if (const char* d = std::getenv("MOODTUNES_DATA"); d && *d && fs::is_directory(fs::path(d) / "deezer-mood"))
          dir = fs::path(d) / "deezer-mood";
      try {
        ImportReport r = dir.empty()
            ? download_and_import(catalog, app::deezer_mood_url(o->url), false)
            : import_deezer_mood(catalog, deezer_mood_files(dir), {});
        print_report(r, false);
        fmt::print("catalog ready: {}\n", catalog.path().string());
      } catch (const ImportError& e) {
        throw CliExit(kExitError, std::string("setup failed: ") + e.what());
      } catch (const ProviderError& e) {
        throw CliExit(kExitError, std::string("setup failed (download): ") + e.what());
      }
    });
  }

  {  // stats
    struct Opt { std::string catalog; bool json = false; };
    auto o = std::make_shared<Opt>();
    auto* cmd = cat->add_subcommand("stats", "Catalog size, sources and how tracks spread over valence-arousal");
    cmd->add_option("--catalog", o->catalog, "Catalog file");
    cmd->add_flag("--json", o->json, "JSON output");
    cmd->callback([o] {
      Catalog catalog(catalog_path(o->catalog), OpenMode::kReadOnly);
      const CatalogStats s = catalog.stats();
      json sources = json::object();
      for (const auto& x : s.sources) sources[x.source] = x.tracks;
      if (o->json) {
        json j = {{"path", s.path.string()}, {"tracks", s.tracks}, {"artists", s.artists}, {"sources", sources},
                  {"valence", {{"min", app::round4(s.min_valence)}, {"max", app::round4(s.max_valence)}, {"mean", app::round4(s.mean_valence)}}},
                  {"arousal", {{"min", app::round4(s.min_arousal)}, {"max", app::round4(s.max_arousal)}, {"mean", app::round4(s.mean_arousal)}}},
                  {"quadrants", {{"positive_energetic", s.quadrant[0]}, {"negative_energetic", s.quadrant[1]},
                                 {"negative_calm", s.quadrant[2]}, {"positive_calm", s.quadrant[3]}}},
                  {"with_deezer_id", s.with_deezer_id}, {"with_spotify_id", s.with_spotify_id}, {"with_isrc", s.with_isrc}};
        if (!s.last_import.empty()) j["last_import"] = json::parse(s.last_import, nullptr, false);
        fmt::print("{}\n", dump(j));
        return;
      }
      fmt::print("catalog  {}\ntracks   {} by {} artists\n", s.path.string(), s.tracks, s.artists);
      for (const auto& x : s.sources) fmt::print("  source {}: {}\n", x.source, x.tracks);
      if (s.tracks == 0) return;
      fmt::print("valence  {:+.2f} .. {:+.2f} (mean {:+.2f})\n", double(s.min_valence), double(s.max_valence), double(s.mean_valence));
      fmt::print("arousal  {:+.2f} .. {:+.2f} (mean {:+.2f})\n", double(s.min_arousal), double(s.max_arousal), double(s.mean_arousal));
      fmt::print("quadrants: positive-energetic {}, negative-energetic {}, negative-calm {}, positive-calm {}\n",
                 s.quadrant[0], s.quadrant[1], s.quadrant[2], s.quadrant[3]);
      fmt::print("ids: deezer {}, spotify {}, isrc {}\n", s.with_deezer_id, s.with_spotify_id, s.with_isrc);
    });
  }

  {  // search
    struct Opt { std::vector<std::string> words; std::string catalog; std::size_t limit = 20; bool json = false; };
    auto o = std::make_shared<Opt>();
    auto* cmd = cat->add_subcommand("search", "Find tracks by words in title or artist");
    cmd->add_option("query", o->words, "Words to look for")->required();
    cmd->add_option("-n,--limit", o->limit, "At most this many results")->capture_default_str()->check(CLI::Range(1, 10000));
    cmd->add_option("--catalog", o->catalog, "Catalog file");
    cmd->add_flag("--json", o->json, "JSON output");
    cmd->callback([o] {
      Catalog catalog(catalog_path(o->catalog), OpenMode::kReadOnly);
      std::string q;
      for (const auto& w : o->words) q += (q.empty() ? "" : " ") + w;
      const auto found = catalog.search(q, o->limit);
      if (o->json) {
        json arr = json::array();
        for (const auto& t : found) arr.push_back(app::track_json(t));
        fmt::print("{}\n", dump(arr));
        return;
      }
      for (const auto& t : found)
        fmt::print("{:8}  {} - {}  [v {:+.2f} a {:+.2f}]\n", t.id, t.artist, t.title, double(t.valence), double(t.arousal));
      if (found.empty()) fmt::print("no match\n");
    });
  }
}

void add_recommend_command(CLI::App& app) {
  auto o = std::make_shared<MoodOptions>();
  auto json_out = std::make_shared<bool>(false);
  auto enrich = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("recommend", "Recommend tracks for a mood (offline catalog; --enrich adds Deezer/Spotify links)");
  add_mood_options(cmd, *o);
  cmd->add_flag("--json", *json_out, "JSON output");
  cmd->add_flag("--enrich", *enrich, "Add preview/cover/links from Deezer (and Spotify when credentials are set); "
                                     "any failure falls back to the offline result");
  struct ListenerOpt { std::string id, store; bool no_learning = false; };
  auto lo = std::make_shared<ListenerOpt>();
  cmd->add_option("--listener", lo->id, "Listener id: personalise from what this listener taught (docs/listeners.md)");
  add_db_option(cmd, lo->store);
  cmd->add_flag("--no-learning", lo->no_learning, "With --listener: today's list, not personalised");
  cmd->callback([o, json_out, enrich, lo] {
    // Only a session (history) or enrichment (its cache) writes: anything else reads, never locks.
    Catalog catalog(catalog_path(o->catalog),
                    o->session.empty() && !*enrich ? OpenMode::kReadOnly : OpenMode::kMustExist);
    app::Recommendations p;
    json listener_summary;
    if (!lo->id.empty() && !lo->no_learning) {
      const app::ResolvedMood mood = run_recommend_mood(*o);
      const auto index = app::CatalogIndex::load(catalog);
      const auto table = listeners::track_table(*index);
      const auto store = listeners::open_store(lo->store, catalog.path());
      std::unordered_set<std::int64_t> served;
      if (!o->session.empty()) served = catalog.session_served(o->session);
      auto r = listeners::recommend_for_listener(*index, *table, mood, recommend_options(*o), *store, lo->id, {},
                                                 o->session.empty() ? nullptr : &served);
      if (!r.store_error.empty()) spdlog::warn("the listener store is unavailable, not personalised: {}", r.store_error);
      listener_summary = listeners::listener_summary_json(lo->id, r);
      p = std::move(r.picks);
      if (!o->session.empty()) {
        std::vector<std::int64_t> ids;
        for (const auto& item : p.result.items) ids.push_back(item.track_id);
        catalog.record_served(o->session, ids);
        p.options.session = o->session;
      }
    } else {
      p = run_recommend(*o, catalog);
    }
    std::vector<Enrichment> extra;
    if (*enrich) extra = app::enrich(catalog, p.tracks);
    const auto& r = p.result;
    if (*json_out) {
      json j = app::recommendation_json(p, extra);
      if (!listener_summary.is_null()) j["listener"] = listener_summary;
      fmt::print("{}\n", dump(j));
      return;
    }
    fmt::print("mood {:+.2f} valence, {:+.2f} arousal ({}) from {}; strategy {}", double(r.mood.valence),
               double(r.mood.arousal), describe_mood(r.mood), p.mood.from, strategy_name(r.strategy));
    if (r.strategy != Strategy::kMatch) fmt::print(" toward ({:+.2f}, {:+.2f})", double(r.goal.valence), double(r.goal.arousal));
    fmt::print("\n");
    for (std::size_t i = 0; i < p.tracks.size(); ++i) {
      fmt::print("{:2}. {} - {}\n     {}\n", i + 1, p.tracks[i].artist, p.tracks[i].title, r.items[i].reason);
      if (i < extra.size()) {
        const auto& e = extra[i];
        if (!e.preview_url.empty()) fmt::print("     preview {}\n", e.preview_url);
        if (!e.deezer_link.empty()) fmt::print("     deezer  {}\n", e.deezer_link);
        if (!e.spotify_url.empty()) fmt::print("     spotify {}\n", e.spotify_url);
        for (const auto& n : e.notes) fmt::print("     ({})\n", n);
      }
    }
    if (!r.note.empty()) fmt::print("note: {}\n", r.note);
  });
}

void add_spotify_commands(CLI::App& app) {
  auto* sp = app.add_subcommand("spotify", "Spotify account: log in (PKCE) and export recommendations as a playlist");
  sp->require_subcommand(1);

  {  // login
    struct Opt { int port = 8765; int timeout = 300; std::string client_id; bool no_browser_hint = false; };
    auto o = std::make_shared<Opt>();
    auto* cmd = sp->add_subcommand("login", "Authorise moodtunes in your Spotify account (Authorization Code with PKCE). "
                                            "Register http://127.0.0.1:PORT/callback as a redirect URI of your app");
    cmd->add_option("--port", o->port, "Loopback port of the redirect URI")->capture_default_str()->check(CLI::Range(1, 65535));
    cmd->add_option("--timeout", o->timeout, "Seconds to wait for the browser")->capture_default_str()->check(CLI::Range(5, 3600));
    cmd->add_option("--client-id", o->client_id, "Spotify app client id (default SPOTIFY_CLIENT_ID or the config file)");
    cmd->callback([o] {
      CredentialStore store(default_spotify_config_path());
      SpotifyCredentials creds = store.load();
      if (!o->client_id.empty()) creds.client_id = o->client_id;
      if (creds.client_id.empty()) throw CliExit(kExitUsage, "no Spotify client id: pass --client-id or set SPOTIFY_CLIENT_ID");
      const PkcePair pkce = make_pkce();
      const std::string state = random_token(32);
      LoopbackCallback callback(o->port, state);
      const SpotifyEndpoints ep = app::spotify_endpoints();
      fmt::print("Open this address in a browser and allow access:\n  {}\nWaiting for the redirect to {} ...\n",
                 authorize_url(ep, creds.client_id, callback.redirect_uri(), pkce.challenge, state), callback.redirect_uri());
      std::fflush(stdout);  // the user acts on it while this process waits
      try {
        const Secret code = callback.wait_for_code(std::chrono::seconds(o->timeout));
        CurlHttpClient http;
        SpotifyAccounts accounts(http, ep);
        const TokenSet t = accounts.exchange_code(creds.client_id, code, pkce.verifier, callback.redirect_uri());
        creds.access_token = t.access_token;
        creds.refresh_token = t.refresh_token;
        creds.expires_at = t.expires_at;
        creds.scope = t.scope;
        store.save(creds);
      } catch (const ProviderError& e) {
        throw CliExit(kExitError, std::string("login failed: ") + e.what());
      }
      fmt::print("logged in; tokens saved to {} (mode 0600)\n", store.path().string());
    });
  }
  {  // logout
    auto* cmd = sp->add_subcommand("logout", "Forget the saved Spotify tokens (deletes the config file)");
    cmd->callback([] {
      CredentialStore store(default_spotify_config_path());
      fmt::print("{}{}\n", store.remove() ? "removed " : "nothing to remove at ", store.path().string());
    });
  }
  {  // playlist
    auto o = std::make_shared<MoodOptions>();
    auto name = std::make_shared<std::string>();
    auto is_public = std::make_shared<bool>(false);
    auto* cmd = sp->add_subcommand("playlist", "Recommend tracks and save them as a new playlist in your Spotify account");
    add_mood_options(cmd, *o);
    cmd->add_option("--name", *name, "Playlist name (default: moodtunes <strategy> <date>)");
    cmd->add_flag("--public", *is_public, "Make the playlist public (default private)");
    cmd->callback([o, name, is_public] {
      Catalog catalog(catalog_path(o->catalog), OpenMode::kMustExist);
      app::require_spotify_login();
      const app::Recommendations p = run_recommend(*o, catalog);
      const app::PlaylistExport pl = app::export_playlist(catalog, p, *name, *is_public);
      fmt::print("playlist \"{}\" with {} tracks: {}\n", pl.title, pl.added, pl.url);
      if (pl.missing) fmt::print("{} recommended track(s) were not found on Spotify\n", pl.missing);
    });
  }
}

}  // namespace

void add_music_commands(CLI::App& app) {
  add_catalog_commands(app);
  add_recommend_command(app);
  add_spotify_commands(app);
}

}  // namespace moodtunes::cli
