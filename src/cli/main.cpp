// moodtunes: facial emotion -> music. A thin front end; the work lives in the libraries.
#include <cstdio>

#include <fmt/core.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app/errors.hpp"
#include "cli/commands.hpp"

int main(int argc, char** argv) {
  using namespace moodtunes::cli;
  CLI::App app{"moodtunes: recognise the emotion on a face and recommend music for the mood"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "moodtunes 0.1.0");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Debug logging");
  app.parse_complete_callback([&] { spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info); });
  spdlog::set_default_logger(spdlog::stderr_color_mt("moodtunes"));
  spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");

  add_train_command(app);
  add_eval_command(app);
  add_classify_command(app);
  add_model_card_command(app);
  add_quantize_command(app);
  add_prior_command(app);
  add_blend_command(app);
  add_ensemble_command(app);
  add_unpack_command(app);
  add_music_commands(app);
  add_vision_commands(app);
  add_suggest_command(app);
  add_serve_command(app);
  add_listener_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 gives each kind of bad command line its own code (105 for a value outside the
    // choices, ...); ours documents one: kExitUsage. --help and --version stay 0.
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  } catch (const CliExit& e) {
    if (*e.what()) fmt::print(stderr, "moodtunes: {}\n", e.what());
    return e.code;
  } catch (const moodtunes::app::InvalidInput& e) {
    fmt::print(stderr, "moodtunes: {}\n", e.what());
    return kExitUsage;
  } catch (const moodtunes::app::NoFace& e) {
    fmt::print(stderr, "moodtunes: {}\n", e.what());
    return kExitNoFace;
  } catch (const moodtunes::app::Unavailable& e) {
    fmt::print(stderr, "moodtunes: {}\n", e.what());
    return kExitError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "moodtunes: error: {}\n", e.what());
    return kExitError;
  }
  return kExitOk;
}
