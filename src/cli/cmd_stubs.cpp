// Registration hooks for subcommands whose libraries are not built yet.
#include "cli/commands.hpp"
namespace moodtunes::cli {
}  // namespace moodtunes::cli
