// Subcommands whose library was left out of this build: they say how to get them.
#include "cli/commands.hpp"

namespace moodtunes::cli {

#ifndef MOODTUNES_WITH_TORCH
void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train the emotion CNN (unavailable: built without LibTorch)");
  cmd->allow_extras();
  cmd->callback([] {
    throw CliExit(kExitError, "this build has no trainer: install libtorch-dev and configure with -DMOODTUNES_WITH_TORCH=ON");
  });
}
#endif

#ifdef MOODTUNES_NO_SUGGEST
void add_suggest_command(CLI::App&) {}
#endif

#ifdef MOODTUNES_TRAINER_ONLY
// The trainer alone (scripts/device/train-gpu.sh builds it on a GPU machine that has LibTorch
// but none of the inference, vision or music libraries): only `train` is registered.
void add_eval_command(CLI::App&) {}
void add_classify_command(CLI::App&) {}
void add_model_card_command(CLI::App&) {}
void add_quantize_command(CLI::App&) {}
void add_prior_command(CLI::App&) {}
void add_blend_command(CLI::App&) {}
void add_ensemble_command(CLI::App&) {}
void add_unpack_command(CLI::App&) {}
void add_music_commands(CLI::App&) {}
void add_vision_commands(CLI::App&) {}
void add_serve_command(CLI::App&) {}
void add_listener_commands(CLI::App&) {}
#endif

}  // namespace moodtunes::cli
