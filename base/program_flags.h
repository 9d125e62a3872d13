// Flag parsing for the project's programs: `--help` prints the usage and the program's own flags
// and exits 0; `--helpfull` keeps absl's listing of every flag (absl's, gRPC's, ours).
//
// Why: absl's --help shows only flags defined in a file whose name matches the program's
// (main.cc, or PROGRAM.cc), while ours live in options and flags files, so it printed "No flags
// matched." and exited 1.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace trm {

// Sets `usage` as the program's usage message and parses argv like absl::ParseCommandLine
// (returns the positional arguments, argv[0] first). `--help` / `-help` / `--helpshort` print
// `usage` and the flags defined in this project's sources, then exit 0.
std::vector<char*> ParseProgramFlags(int argc, char** argv, absl::string_view usage);

// The --help text: usage, then each project flag with its help and default, sorted by name.
std::string ProgramHelp(absl::string_view usage);

}  // namespace trm
