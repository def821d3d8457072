// Which emotion model file to load: the ONE place that knows the shipped models and their
// names. Used by the CLI, the server, tests and benchmarks.
//
// model_path(given): `given` is a .mtm path (returned as is) or a shipped model's name (the
// table in model_path.cpp): "accurate" (models/moodtunes-fer.mtm, the default), "fast"
// (models/moodtunes-fer-fast.mtm, one narrow network for the 2 ms budget) or "real"
// (models/moodtunes-fer-real.mtm, the accurate model's networks tuned for real photos and
// webcams at about a point of FER-2013). Empty: $MOODTUNES_MODEL (either form), else "accurate".
// A shipped name resolves to the source tree's models/ when the file is there, else to models/
// under the working folder. Does not check that the result exists. Thread-safe (reads the
// environment only).
#pragma once

#include <string>

namespace moodtunes::app {

std::string model_path(const std::string& given = {});

// The name a front end shows for the model `given` selects (as model_path() reads it): a shipped
// name as it is, a file by its file name.
std::string model_display_name(const std::string& given = {});

// Help text of a --model option, naming the shipped models and the default: "Emotion model: a
// .mtm file, or a shipped one by name: accurate | fast | real; default: $MOODTUNES_MODEL or accurate".
std::string model_option_help();

}  // namespace moodtunes::app
