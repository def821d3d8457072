#include "cli/commands.hpp"
namespace moodtunes::cli {
void add_eval_command(CLI::App&) {}
void add_classify_command(CLI::App&) {}
std::string default_model_path() { return "models/moodtunes-fer.mtm"; }
}
