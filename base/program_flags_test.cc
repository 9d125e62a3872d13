#include "base/program_flags.h"

#include <gtest/gtest.h>

#include "absl/flags/flag.h"

ABSL_FLAG(int, base_test_batch, 7, "A flag defined in the project's own sources");

namespace trm {
namespace {

TEST(ProgramFlagsTest, HelpListsTheProjectsFlagsWithHelpAndDefault) {
  const std::string help = ProgramHelp("base_test: checks --help");
  EXPECT_EQ(help.rfind("base_test: checks --help", 0), 0u) << help;
  EXPECT_NE(help.find("--base_test_batch (A flag defined in the project's own sources); "
                      "default: \"7\""),
            std::string::npos)
      << help;
  // absl's own flags are for --helpfull.
  EXPECT_EQ(help.find("--flagfile"), std::string::npos) << help;
  EXPECT_EQ(help.find("--fromenv"), std::string::npos) << help;
}

TEST(ProgramFlagsTest, HelpExitsZeroAndPrintsTheUsage) {
  char program[] = "base_test";
  char help[] = "--help";
  char* argv[] = {program, help, nullptr};
  EXPECT_EXIT(ParseProgramFlags(2, argv, "usage line for the test"), ::testing::ExitedWithCode(0),
              "");
}

TEST(ProgramFlagsTest, ParsesFlagsAndReturnsPositionals) {
  char program[] = "base_test";
  char flag[] = "--base_test_batch=9";
  char positional[] = "solve";
  char* argv[] = {program, flag, positional, nullptr};
  std::vector<char*> rest = ParseProgramFlags(3, argv, "usage");
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_STREQ(rest[1], "solve");
  EXPECT_EQ(absl::GetFlag(FLAGS_base_test_batch), 9);
}

}  // namespace
}  // namespace trm
