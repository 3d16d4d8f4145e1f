// flypctl's job commands through the real binary against a real
// flyp-coordinator (fake MPI worker): submit (from a file, stdin, with
// --set, --watch), get/describe/list in every output format and their
// round trip back through submit, watch on a terminal and piped, logs,
// download, report, version, cancel, and the errors users see.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/crc32c.h"
#include "common/spec/job_spec.h"
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
    return RunCommand(Env() + std::string(FLYP_FLYPCTL_BIN) + " " + args +
                      " --server 127.0.0.1:" + std::to_string(coord_->port()) + " --token " + token);
  }
  // The same command line as a shell string (for pipes and script(1)).
  std::string Line(const std::string& args) {
    return std::string(FLYP_FLYPCTL_BIN) + " " + args +
           " --server 127.0.0.1:" + std::to_string(coord_->port()) + " --token usertoken";
  }
  // No user config or FLYP_ settings from the machine running the tests.
  std::string Env() {
    return "env -u FLYP_SERVER -u FLYP_TOKEN -u FLYP_TOKEN_FILE -u FLYP_TLS_CA -u FLYP_CONTEXT FLYP_CONFIG=" +
           dir_ + "/no-config.yaml ";
  }
  v1::Job Get(const std::string& id) {
    v1::GetJobRequest req;
    req.set_id(id);
    v1::Job job;
    EXPECT_TRUE(coord_->Client()->GetJob(Ctx().get(), req, &job).ok());
    return job;
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
  EXPECT_NE(json.out.find("\"state\": \"succeeded\""), std::string::npos)
      << json.out;  // the spec files' enum names

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

TEST_F(FlypctlTest, SubmitFromStdinWithTypedOverrides) {
  // The spec says fake-sleep (which would run for a minute); --set makes it fake-quick.
  CommandResult sub = RunCommand(
      Env() + "cat " + WriteSpec("fake-sleep") + " | " +
      Line("submit - --set name=fake-quick --set schedule.epochs=3 --set run_policy.collective_timeout=90s"));
  ASSERT_EQ(sub.code, 0) << sub.out;
  EXPECT_EQ(sub.out, "job-000001\n");
  v1::Job job = WaitForState(coord_->Client().get(), "job-000001", {v1::JOB_STATE_SUCCEEDED});
  EXPECT_EQ(job.spec().name(), "fake-quick");
  EXPECT_EQ(job.spec().schedule().epochs(), 3);
  EXPECT_EQ(job.spec().run_policy().collective_timeout().seconds(), 90);
  CommandResult bad = Flypctl("submit " + WriteSpec("fake-quick") + " --set schedule.epochs=three");
  EXPECT_EQ(bad.code, 3);
  EXPECT_EQ(bad.out, "--set schedule.epochs: expected an integer, got 'three'\n");
}

TEST_F(FlypctlTest, GetOutputIsResubmittableAsIs) {
  ASSERT_EQ(Flypctl("submit " + WriteSpec("fake-quick") + " --set optim.learning_rate=3e-4").code, 0);
  const v1::Job first = WaitForState(coord_->Client().get(), "job-000001", {v1::JOB_STATE_SUCCEEDED});
  // JSON through a file, YAML through a pipe: each makes a job with the same spec.
  CommandResult json = Flypctl("get job-000001 -o json");
  ASSERT_EQ(json.code, 0) << json.out;
  std::ofstream(dir_ + "/job.json") << json.out;
  CommandResult again = Flypctl("submit " + dir_ + "/job.json");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_EQ(again.out, "job-000002\n");
  CommandResult yaml = RunCommand(Env() + Line("get job-000001 -o yaml") + " | " + Line("submit -"));
  ASSERT_EQ(yaml.code, 0) << yaml.out;
  EXPECT_EQ(yaml.out, "job-000003\n");
  for (const char* id : {"job-000002", "job-000003"}) {
    const v1::Job copy = Get(id);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(copy.spec(), first.spec()))
        << id << "\n"
        << copy.spec().DebugString() << "\nvs\n"
        << first.spec().DebugString();
  }
  EXPECT_DOUBLE_EQ(first.spec().optim().learning_rate(), 3e-4);
}

TEST_F(FlypctlTest, SubmitWatchExitsWithTheJobsOutcome) {
  CommandResult ok = Flypctl("submit " + WriteSpec("fake-ok") + " --watch");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_EQ(ok.out.rfind("job-000001\n", 0), 0u) << ok.out;
  EXPECT_NE(ok.out.find("SUCCEEDED"), std::string::npos) << ok.out;
  // Its evaluations, labelled, and the report table at the end.
  EXPECT_NE(ok.out.find("final \u00b7 id_test 75.0 %\n"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("Result: FLYP: id_test 75.0 %, OOD 50.0 % (mean of 1 split)"), std::string::npos)
      << ok.out;
  CommandResult failed = Flypctl("submit " + WriteSpec("fake-permanent") + " -w");
  EXPECT_EQ(failed.code, 1) << failed.out;
  EXPECT_NE(failed.out.find("FAILED"), std::string::npos) << failed.out;
  EXPECT_EQ(Get("job-000002").status().state(), v1::JOB_STATE_FAILED);
}

// The progress bar on a terminal (a pseudo-terminal from script(1)) is
// redrawn in place; piped, every update is a plain line.
TEST_F(FlypctlTest, WatchRedrawsOnATerminalAndPrintsPlainLinesWhenPiped) {
  CommandResult tty = RunCommand(Env() + "script -qfec '" +
                                 Line("submit " + WriteSpec("fake-slow") + " --watch") + "' /dev/null");
  ASSERT_EQ(tty.code, 0) << tty.out;
  // Two redraws of the bar with no newline between them: in place.
  const size_t first = tty.out.find("\r  ");
  ASSERT_NE(first, std::string::npos) << tty.out;
  const size_t bar = tty.out.find("step 1/20", first);
  const size_t next = tty.out.find("\r", bar);
  ASSERT_NE(next, std::string::npos);
  EXPECT_EQ(tty.out.substr(first, next - first).find('\n'), std::string::npos)
      << tty.out.substr(first, next - first);
  EXPECT_NE(tty.out.find("\x1b[K"), std::string::npos);
  EXPECT_NE(tty.out.find("step 20/20"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("\u2588"), std::string::npos) << "no bar in\n"
                                                       << tty.out;  // a full block of the bar
  // The 20 steps took fewer lines than steps: they shared one.
  EXPECT_LT(std::count(tty.out.begin(), tty.out.end(), '\n'), 20) << tty.out;

  CommandResult piped = RunCommand(Env() + Line("submit " + WriteSpec("fake-slow") + " --watch") + " | cat");
  ASSERT_EQ(piped.code, 0) << piped.out;
  EXPECT_EQ(piped.out.find('\r'), std::string::npos) << piped.out;
  EXPECT_EQ(piped.out.find('\x1b'), std::string::npos) << piped.out;
  for (int step = 1; step <= 20; ++step) {
    EXPECT_NE(piped.out.find("\nstep " + std::to_string(step) + "/20 ("), std::string::npos) << step << "\n"
                                                                                             << piped.out;
  }
  EXPECT_NE(piped.out.find("\n== evaluating final\n"), std::string::npos) << piped.out;
}

TEST_F(FlypctlTest, GetShowsTheLastStepLossAndResultOfAFinishedJob) {
  ASSERT_EQ(Flypctl("submit " + WriteSpec("fake-ok")).code, 0);
  v1::Job job = WaitForState(coord_->Client().get(), "job-000001", {v1::JOB_STATE_SUCCEEDED});
  // The evaluations and the result came after the last step: both kept.
  EXPECT_EQ(job.status().latest_progress().step(), 5);
  EXPECT_DOUBLE_EQ(job.status().latest_progress().result().id_accuracy(), 0.75);
  CommandResult get = Flypctl("get job-000001");
  ASSERT_EQ(get.code, 0) << get.out;
  EXPECT_NE(get.out.find("OWNER"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("AGE"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("alice"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("5/5"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("0.1667"), std::string::npos) << get.out;  // loss 1 / (5 + 1)
  EXPECT_NE(get.out.find("ID 75.0 % \u00b7 OOD 50.0 %"), std::string::npos) << get.out;
  CommandResult describe = Flypctl("describe job-000001");
  EXPECT_NE(describe.out.find("Result:      FLYP: ID 75.0 %"), std::string::npos) << describe.out;
  CommandResult report = Flypctl("report job-000001");
  ASSERT_EQ(report.code, 0) << report.out;
  EXPECT_NE(report.out.find("\nFLYP          75.0  50.0     50.0\n"), std::string::npos) << report.out;
}

TEST_F(FlypctlTest, LogsRankOutsideTheWorldTimestampsAndSince) {
  ASSERT_EQ(Flypctl("submit " + WriteSpec("fake-quick")).code, 0);
  WaitForState(coord_->Client().get(), "job-000001", {v1::JOB_STATE_SUCCEEDED});
  CommandResult outside = Flypctl("logs job-000001 --rank 2");
  EXPECT_EQ(outside.code, 1);
  EXPECT_NE(outside.out.find("rank 2 is outside the world of job-000001 (world size 2: ranks 0..1"),
            std::string::npos)
      << outside.out;
  CommandResult rank1 = Flypctl("logs job-000001 --rank 1 --timestamps");
  ASSERT_EQ(rank1.code, 0) << rank1.out;
  EXPECT_NE(rank1.out.find("Z rank 1 of 2 attempt 1 mode fake-quick\n"), std::string::npos) << rank1.out;
  EXPECT_EQ(rank1.out.find("<stdout>"), std::string::npos) << rank1.out;  // no tag fragments
  EXPECT_EQ(Flypctl("logs job-000001 --since 1h").out, Flypctl("logs job-000001").out);
  CommandResult future = Flypctl("logs job-000001 --since 2099-01-01T00:00:00Z");
  EXPECT_EQ(future.code, 0);
  EXPECT_EQ(future.out, "");
  EXPECT_EQ(Flypctl("logs job-000001 --since yesterday").code, 2);
}

TEST_F(FlypctlTest, DownloadFilesAndFoldersCheckedAgainstTheServersChecksum) {
  ASSERT_EQ(Flypctl("submit " + WriteSpec("fake-quick")).code, 0);
  const v1::Job job = WaitForState(coord_->Client().get(), "job-000001", {v1::JOB_STATE_SUCCEEDED});
  const std::string out = dir_ + "/dl";
  CommandResult files = Flypctl("download job-000001 report.json logs -d " + out);
  ASSERT_EQ(files.code, 0) << files.out;
  EXPECT_NE(files.out.find("CRC32C checked"), std::string::npos) << files.out;
  EXPECT_EQ(ReadFileOrDie(out + "/report.json"), ReadFileOrDie(job.artifact_dir() + "/report.json"));
  EXPECT_EQ(ReadFileOrDie(out + "/logs/world.log"), ReadFileOrDie(job.artifact_dir() + "/logs/world.log"));
  CommandResult single = Flypctl("download job-000001 spec.yaml --out " + dir_ + "/s.yaml");
  ASSERT_EQ(single.code, 0) << single.out;
  EXPECT_EQ(ReadFileOrDie(dir_ + "/s.yaml"), ReadFileOrDie(job.artifact_dir() + "/spec.yaml"));
  CommandResult missing = Flypctl("download job-000001 nothing.bin -d " + out);
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("job-000001 has no artifact 'nothing.bin'"), std::string::npos) << missing.out;
  // Everything, into ./job-000001/ by default.
  CommandResult all = RunCommand("cd " + dir_ + " && " + Env() + Line("download job-000001"));
  ASSERT_EQ(all.code, 0) << all.out;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/job-000001/pids.txt"));
}

TEST_F(FlypctlTest, VersionNamesTheServersBuild) {
  CommandResult v = Flypctl("version");
  ASSERT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("flypctl 0.1.0 (git "), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("server  0.1.0 (git "), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("launcher local"), std::string::npos) << v.out;
}

TEST_F(FlypctlTest, ListWatchPrintsRowsThatChange) {
  ASSERT_EQ(Flypctl("submit " + WriteSpec("fake-slow")).code, 0);
  CommandResult w = RunCommand(Env() + "timeout 4 " + Line("list --watch --interval 0.3"));
  EXPECT_EQ(w.code, 124) << w.out;  // it runs until stopped
  // The header, then the job's row again as its step moves.
  EXPECT_EQ(w.out.rfind("ID", 0), 0u) << w.out;
  EXPECT_GE(std::count(w.out.begin(), w.out.end(), '\n'), 3) << w.out;
  EXPECT_NE(w.out.find("training (epoch 1)"), std::string::npos) << w.out;
}

}  // namespace
}  // namespace flyp::testing
