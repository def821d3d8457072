// Subcommands of the `moodtunes` CLI. Each add_*_command() registers one subcommand (with
// its own --help) on the app; the callback runs the command and throws CliExit to set the
// process exit code. Commands print results on stdout and diagnostics on stderr.
#pragma once

#include <stdexcept>

#include <CLI/CLI.hpp>

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
inline constexpr int kExitNoFace = 3;      // detect: at least one image had no face

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_classify_command(CLI::App& app);
void add_model_card_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_prior_command(CLI::App& app);
void add_ensemble_command(CLI::App& app);
void add_unpack_command(CLI::App& app);
void add_music_commands(CLI::App& app);
void add_vision_commands(CLI::App& app);
// Needs both the vision and the music libraries.
void add_suggest_command(CLI::App& app);

// The model file a command reads. `given` is a .mtm path or a shipped model's name: "accurate"
// (models/moodtunes-fer.mtm, the default) or "fast" (models/moodtunes-fer-fast.mtm, one narrow
// network for the 2 ms budget). Empty: $MOODTUNES_MODEL (either form), else "accurate".
std::string model_path(const std::string& given = {});
// Help text of the --model options.
inline constexpr const char* kModelOptionHelp =
    "Emotion model: a .mtm file, or a shipped one by name: accurate | fast; default: $MOODTUNES_MODEL or accurate";

}  // namespace moodtunes::cli
