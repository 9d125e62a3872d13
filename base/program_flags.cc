#include "base/program_flags.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace trm {
namespace {

// A flag of ours, not absl's own or a library's: defined outside any absl source tree. Debian's
// absl and gRPC record their own paths (absl/flags/..., src/core/...).
bool IsProjectFlag(const absl::CommandLineFlag& flag) {
  if (flag.IsRetired()) return false;
  const std::string file = flag.Filename();
  return !absl::StrContains(file, "absl/") && !absl::StrContains(file, "src/core/");
}

bool IsHelpArgument(std::string_view arg) {
  return arg == "--help" || arg == "-help" || arg == "--helpshort" || arg == "-helpshort";
}

}  // namespace

std::string ProgramHelp(absl::string_view usage) {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsProjectFlag(*flag)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  std::string out = absl::StrCat(usage, "\n\nFlags:\n");
  for (const auto* flag : flags) {
    absl::StrAppend(&out, "  --", flag->Name(), " (", flag->Help(), "); default: \"",
                    flag->DefaultValue(), "\";\n");
  }
  absl::StrAppend(&out, "\nTry --helpfull for every flag, the libraries' included.\n");
  return out;
}

std::vector<char*> ParseProgramFlags(int argc, char** argv, absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") break;
    if (IsHelpArgument(argv[i])) {
      std::fputs(ProgramHelp(usage).c_str(), stdout);
      std::exit(0);
    }
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace trm
