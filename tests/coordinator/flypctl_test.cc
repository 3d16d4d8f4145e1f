// flypctl's job commands through the real binary against a real
// flyp-coordinator (fake MPI worker): submit, get/describe/list in every
// output format, cancel, and the errors users see.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/coordinator/harness.h"
#include "tests/testing/test_env.h"

namespace flyp::testing {
namespace {

class FlypctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
    coord_ = std::make_unique<CoordinatorProcess>(CoordinatorOptions{dir_, /*cpu_slots=*/2, /*grace_s=*/3});
    coord_->Start();
  }

  // flypctl COMMAND ARGS with this coordinator's address and a token
  // (alice's by default); global flags follow the command.
  CommandResult Flypctl(const std::string& args, const std::string& token = "usertoken") {
    return RunCommand(std::string(FLYP_FLYPCTL_BIN) + " " + args +
                      " --server 127.0.0.1:" + std::to_string(coord_->port()) + " --token " + token);
  }

  std::string WriteSpec(const std::string& mode) {
    const std::string path = dir_ + "/" + mode + ".yaml";
    std::ofstream(path) << FakeSpec(mode);
    return path;
  }

  std::string dir_;
  std::unique_ptr<CoordinatorProcess> coord_;
};

TEST_F(FlypctlTest, SubmitThenGetDescribeAndListInEveryFormat) {
  CommandResult sub = Flypctl("submit " + WriteSpec("fake-quick"));
  ASSERT_EQ(sub.code, 0) << sub.out;
  EXPECT_EQ(sub.out, "job-000001\n");
  auto stub = coord_->Client();
  WaitForState(stub.get(), "job-000001", {v1::JOB_STATE_SUCCEEDED});

  CommandResult table = Flypctl("get job-000001");
  ASSERT_EQ(table.code, 0) << table.out;
  EXPECT_NE(table.out.find("job-000001"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("SUCCEEDED"), std::string::npos) << table.out;

  CommandResult json = Flypctl("get job-000001 -o json");
  ASSERT_EQ(json.code, 0) << json.out;
  EXPECT_NE(json.out.find("\"id\": \"job-000001\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"state\": \"JOB_STATE_SUCCEEDED\""), std::string::npos) << json.out;

  // YAML: the job spec's style (short enum names, quoted strings), times
  // in RFC 3339 as in JSON.
  CommandResult yaml = Flypctl("get job-000001 -o yaml");
  ASSERT_EQ(yaml.code, 0) << yaml.out;
  EXPECT_NE(yaml.out.find("id: \"job-000001\""), std::string::npos) << yaml.out;
  EXPECT_NE(yaml.out.find("state: succeeded"), std::string::npos) << yaml.out;
  EXPECT_NE(yaml.out.find("name: \"fake-quick\""), std::string::npos) << yaml.out;
  EXPECT_NE(yaml.out.find("Z\n"), std::string::npos) << "no RFC 3339 time in\n" << yaml.out;

  CommandResult list = Flypctl("list -o yaml");
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_EQ(list.out.rfind("jobs:", 0), 0u) << list.out;
  EXPECT_NE(list.out.find("id: \"job-000001\""), std::string::npos) << list.out;
  CommandResult none = Flypctl("list --state running -o json");
  ASSERT_EQ(none.code, 0) << none.out;
  EXPECT_EQ(none.out.find("job-000001"), std::string::npos) << none.out;

  CommandResult describe = Flypctl("describe job-000001");
  ASSERT_EQ(describe.code, 0) << describe.out;
  EXPECT_NE(describe.out.find("ID:          job-000001"), std::string::npos) << describe.out;
  CommandResult describe_yaml = Flypctl("describe job-000001 -o yaml");
  ASSERT_EQ(describe_yaml.code, 0) << describe_yaml.out;
  EXPECT_EQ(describe_yaml.out, yaml.out);
}

TEST_F(FlypctlTest, CancelStopsARunningJob) {
  ASSERT_EQ(Flypctl("submit " + WriteSpec("fake-sleep")).code, 0);
  auto stub = coord_->Client();
  WaitForState(stub.get(), "job-000001", {v1::JOB_STATE_RUNNING});
  CommandResult c = Flypctl("cancel job-000001 --reason 'flypctl test'");
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_EQ(c.out, "job-000001 CANCELLED\n");
  CommandResult again = Flypctl("cancel job-000001");
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("FAILED_PRECONDITION"), std::string::npos) << again.out;
}

TEST_F(FlypctlTest, ErrorsNameTheProblem) {
  CommandResult missing = Flypctl("get job-999999");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("NOT_FOUND"), std::string::npos) << missing.out;

  CommandResult format = Flypctl("get job-000001 -o xml");
  EXPECT_EQ(format.code, 2);
  EXPECT_NE(format.out.find("-o must be table, json or yaml (got 'xml')"), std::string::npos) << format.out;

  CommandResult token = Flypctl("get job-000001", "bad");
  EXPECT_EQ(token.code, 1);
  EXPECT_NE(token.out.find("UNAUTHENTICATED"), std::string::npos) << token.out;

  const std::string bad = dir_ + "/bad.yaml";
  std::ofstream(bad) << FakeSpec("fake-ok") << "optim: {learning_rat: 0.1}\n";
  CommandResult spec = Flypctl("submit " + bad);
  EXPECT_EQ(spec.code, 3);
  EXPECT_NE(spec.out.find("optim.learning_rat: unknown field; did you mean learning_rate?"),
            std::string::npos)
      << spec.out;
}

}  // namespace
}  // namespace flyp::testing
