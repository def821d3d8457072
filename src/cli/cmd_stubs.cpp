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

}  // namespace moodtunes::cli
