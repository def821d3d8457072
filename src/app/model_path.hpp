// Which emotion model file to load: the ONE place that knows the shipped models and their
// names. Used by the CLI, tests and benchmarks.
//
// model_path(given): `given` is a .mtm path (returned as is) or a shipped model's name:
// "accurate" (models/moodtunes-fer.mtm, the default) or "fast" (models/moodtunes-fer-fast.mtm,
// one narrow network for the 2 ms budget). Empty: $MOODTUNES_MODEL (either form), else
// "accurate". A shipped name resolves to the source tree's models/ when the file is there, else
// to models/ under the working folder. Does not check that the result exists. Thread-safe
// (reads the environment only).
#pragma once

#include <string>

namespace moodtunes::app {

std::string model_path(const std::string& given = {});

}  // namespace moodtunes::app
