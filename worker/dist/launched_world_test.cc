#include "worker/dist/launched_world.h"

#include <gtest/gtest.h>

#include <map>

namespace flyp::dist {
namespace {

// DetectLaunchedWorld over a fixed environment.
StatusOr<LaunchedWorld> Detect(const std::map<std::string, std::string>& env) {
  return DetectLaunchedWorld([&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

// What srun --mpi=pmix -N2 -n3 gives task 2 (the second task on node 1),
// as recorded on the Slurm test cluster.
const std::map<std::string, std::string> kSrunTask2 = {
    {"SLURM_JOB_ID", "7"},  {"SLURM_NTASKS", "3"},
    {"SLURM_STEP_ID", "0"}, {"SLURM_STEP_NUM_TASKS", "3"},
    {"SLURM_PROCID", "2"},  {"SLURM_LOCALID", "1"},
    {"SLURM_NODEID", "1"},  {"SLURM_STEP_TASKS_PER_NODE", "1,2"},
    {"PMIX_RANK", "2"},     {"PMIX_NAMESPACE", "slurm.pmix.7.0"},
};

TEST(LaunchedWorldTest, APlainProcessIsNotLaunched) {
  auto w = Detect({{"PATH", "/usr/bin"}, {"SLURM_CONF", "/etc/slurm/slurm.conf"}});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(w->launched());
  EXPECT_FALSE(w->needs_mpi());
  EXPECT_EQ(w->size, 1);
  EXPECT_EQ(w->rank, 0);
}

TEST(LaunchedWorldTest, MpirunVariables) {
  auto w = Detect({{"OMPI_COMM_WORLD_SIZE", "4"},
                   {"OMPI_COMM_WORLD_RANK", "3"},
                   {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                   {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->launcher, "mpirun");
  EXPECT_EQ(w->size, 4);
  EXPECT_EQ(w->rank, 3);
  EXPECT_EQ(w->local_rank, 1);
  EXPECT_EQ(w->local_size, 2);
  EXPECT_TRUE(w->needs_mpi());
}

TEST(LaunchedWorldTest, MpirunOfOneIsASingleProcess) {
  auto w = Detect({{"OMPI_COMM_WORLD_SIZE", "1"}, {"OMPI_COMM_WORLD_RANK", "0"}});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE(w->launched());
  EXPECT_FALSE(w->needs_mpi());
}

// The defect this exists for: srun --mpi=pmix set no OMPI_ variable, so each
// task thought it was alone.
TEST(LaunchedWorldTest, SrunStepTasksAreOneWorld) {
  auto w = Detect(kSrunTask2);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->launcher, "srun");
  EXPECT_EQ(w->size, 3);
  EXPECT_EQ(w->rank, 2);
  EXPECT_EQ(w->local_rank, 1);
  EXPECT_EQ(w->local_size, 2);  // node 1 of "1,2"
  EXPECT_TRUE(w->needs_mpi());
  EXPECT_EQ(w->evidence, "SLURM_STEP_NUM_TASKS=3");
}

// A batch script's own process has SLURM_PROCID and SLURM_NTASKS (the
// allocation's) but is no step task: not a world of SLURM_NTASKS.
TEST(LaunchedWorldTest, ABatchScriptIsNotAStep) {
  auto w =
      Detect({{"SLURM_JOB_ID", "7"}, {"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "0"}, {"SLURM_LOCALID", "0"}});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(w->launched());
}

// mpirun inside an allocation starts one daemon per node with srun; the
// ranks inherit that step's variables, which count daemons, not ranks.
TEST(LaunchedWorldTest, MpirunWinsOverTheSlurmStepOfItsDaemons) {
  auto env = kSrunTask2;
  env["SLURM_STEP_NUM_TASKS"] = "2";
  env["SLURM_PROCID"] = "1";
  env["OMPI_COMM_WORLD_SIZE"] = "6";
  env["OMPI_COMM_WORLD_RANK"] = "5";
  auto w = Detect(env);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->launcher, "mpirun");
  EXPECT_EQ(w->size, 6);
  EXPECT_EQ(w->rank, 5);
}

TEST(LaunchedWorldTest, PmixAloneLeavesTheSizeToMpi) {
  auto w = Detect({{"PMIX_RANK", "1"}, {"PMIX_NAMESPACE", "prterun-x-1@1"}});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->launcher, "pmix");
  EXPECT_EQ(w->size, 0);
  EXPECT_EQ(w->rank, 1);
  EXPECT_TRUE(w->needs_mpi());
}

TEST(LaunchedWorldTest, MalformedVariablesAreNamed) {
  struct Case {
    std::map<std::string, std::string> env;
    std::string names;
  };
  for (const Case& c : std::vector<Case>{
           {{{"OMPI_COMM_WORLD_SIZE", "two"}}, "OMPI_COMM_WORLD_SIZE"},
           {{{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_RANK", "2"}}, "OMPI_COMM_WORLD_RANK=2"},
           {{{"SLURM_STEP_NUM_TASKS", "0"}}, "SLURM_STEP_NUM_TASKS"},
           {{{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_PROCID", "-1"}}, "SLURM_PROCID"},
           {{{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_STEP_TASKS_PER_NODE", "2(x"}},
            "SLURM_STEP_TASKS_PER_NODE"},
           {{{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_STEP_TASKS_PER_NODE", "1,1"}, {"SLURM_NODEID", "2"}},
            "SLURM_NODEID"},
           {{{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_LOCALID", "1"}, {"SLURM_STEP_TASKS_PER_NODE", "1(x2)"}},
            "local rank 1"},
           {{{"PMIX_RANK", "x"}}, "PMIX_RANK"},
       }) {
    auto w = Detect(c.env);
    ASSERT_FALSE(w.ok()) << c.names;
    EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(w.status().message().find(c.names), std::string::npos) << w.status();
  }
}

TEST(LaunchedWorldTest, SlurmTasksPerNode) {
  auto counts = ParseSlurmTasksPerNode("2(x3),1");
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(*counts, (std::vector<int>{2, 2, 2, 1}));
  counts = ParseSlurmTasksPerNode("4");
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(*counts, (std::vector<int>{4}));
  for (const char* bad : {"", ",", "1,", "x", "2(x0)", "2(x3", "(x2)", "1(x65537)", "0"}) {
    EXPECT_FALSE(ParseSlurmTasksPerNode(bad).ok()) << "'" << bad << "'";
  }
}

TEST(LaunchedWorldTest, TheWorldMpiJoinedMustBeTheLaunchedOne) {
  auto w = Detect(kSrunTask2);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE(CheckLaunchedWorld(*w, 3, 2).ok());
  // srun without an MPI plugin: every task is rank 0 of a world of 1.
  Status s = CheckLaunchedWorld(*w, 1, 0);
  ASSERT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("rank 2 of 3 (SLURM_STEP_NUM_TASKS=3)"), std::string::npos) << s;
  EXPECT_NE(s.message().find("world of 1"), std::string::npos) << s;
  EXPECT_NE(s.message().find("separate model"), std::string::npos) << s;
  EXPECT_NE(s.message().find("srun --mpi=pmix"), std::string::npos) << s;
  EXPECT_FALSE(CheckLaunchedWorld(*w, 3, 1).ok()) << "same size, another rank";

  auto pmix = Detect({{"PMIX_RANK", "1"}});
  ASSERT_TRUE(pmix.ok()) << pmix.status();
  EXPECT_TRUE(CheckLaunchedWorld(*pmix, 4, 1).ok());
  EXPECT_FALSE(CheckLaunchedWorld(*pmix, 1, 0).ok());
}

}  // namespace
}  // namespace flyp::dist
