// Subcommands of the `moodtunes` CLI. Each add_*_command() registers one subcommand (with
// its own --help) on the app; the callback parses, calls the use cases of src/app, and prints
// results on stdout and diagnostics on stderr. It throws CliExit to set the process exit code;
// main() maps the app's errors (app/errors.hpp) to exit codes in one place.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "app/model_path.hpp"

namespace moodtunes::cli {

// Thrown by a command to end the program with `code` after printing `what()` (if non-empty).
struct CliExit : std::runtime_error {
  CliExit(int code, const std::string& message) : std::runtime_error(message), code(code) {}
  int code;
};

// Exit codes shared by all commands (documented in README.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;       // runtime failure (I/O, model, network...)
inline constexpr int kExitUsage = 2;       // bad command line
inline constexpr int kExitNoFace = 3;      // detect: some image had no face; suggest: no face at all
inline constexpr int kExitPartial = 4;     // catalog import: some rows were bad and not imported

// What `detect` and `suggest` say of a photo whose only face is a lone small one, which the photo
// default leaves out (vision::kDefaultDetector) and --small-faces reports.
inline constexpr std::string_view kSmallFaceHint =
    "no face found at the usual sizes; a lone small face (under ~80 px) was left out: --small-faces reports it";

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_classify_command(CLI::App& app);
void add_model_card_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_prior_command(CLI::App& app);
void add_blend_command(CLI::App& app);
void add_ensemble_command(CLI::App& app);
void add_unpack_command(CLI::App& app);
void add_music_commands(CLI::App& app);
void add_vision_commands(CLI::App& app);
// Needs both the vision and the music libraries.
void add_suggest_command(CLI::App& app);
void add_serve_command(CLI::App& app);
// `listener export|forget` and `feedback` (src/listeners).
void add_listener_commands(CLI::App& app);
// --db (env MOODTUNES_DB): the listener store, as listeners::open_store() reads it.
CLI::Option* add_db_option(CLI::App* cmd, std::string& where);

// The model file a command reads: a .mtm path or a shipped model's name (app/model_path.hpp).
using app::model_path;
// Help text of the --model options.
using app::model_option_help;

}  // namespace moodtunes::cli
