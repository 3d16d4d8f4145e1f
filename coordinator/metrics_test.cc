#include "coordinator/metrics.h"

#include <gtest/gtest.h>

#include "tests/testing/exposition.h"

namespace flyp::coord {
namespace {

using flyp::testing::ExpositionValue;

TEST(CoordinatorMetrics, LabelsAreShortAndStable) {
  EXPECT_EQ(JobStateLabel(v1::JOB_STATE_RUNNING), "running");
  EXPECT_EQ(JobStateLabel(v1::JOB_STATE_CANCELLED), "cancelled");
  EXPECT_EQ(GrpcCodeName(0), "OK");
  EXPECT_EQ(GrpcCodeName(3), "INVALID_ARGUMENT");
  EXPECT_EQ(GrpcCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(99), "UNKNOWN");
  const auto& m = KnownRpcMethods();
  EXPECT_NE(std::find(m.begin(), m.end(), "/flyp.v1.JobService/SubmitJob"), m.end());
  EXPECT_NE(std::find(m.begin(), m.end(), "/flyp.v1.WorkerService/ReportProgress"), m.end());
  EXPECT_NE(std::find(m.begin(), m.end(), "/grpc.health.v1.Health/Check"), m.end());
}

TEST(CoordinatorMetrics, TransitionsMoveJobsBetweenStates) {
  CoordinatorMetrics m;
  m.OnSubmitted();
  m.OnSubmitted();
  m.OnTransition(v1::JOB_STATE_QUEUED, v1::JOB_STATE_ADMITTED);
  m.OnTransition(v1::JOB_STATE_ADMITTED, v1::JOB_STATE_STARTING);
  m.OnTransition(v1::JOB_STATE_STARTING, v1::JOB_STATE_RUNNING);
  m.OnTransition(v1::JOB_STATE_RUNNING, v1::JOB_STATE_RUNNING);  // no change
  m.OnTransition(v1::JOB_STATE_RUNNING, v1::JOB_STATE_SUCCEEDED);
  m.OnRestart();
  m.ObserveQueueWait(0.5);
  m.ObserveQueueWait(-1);  // clock skew: counted as 0
  m.SetSlots(false, 6, 2);
  m.SetSlots(true, 1, 3);
  EXPECT_EQ(ExpositionValue(m.Render(), "flyp_worker_metrics_endpoint_failures_total"), 0);
  m.OnWorkerMetricsEndpointFailures(2);
  m.OnWorkerMetricsEndpointFailures(0);
  const std::string t = m.Render();
  EXPECT_EQ(ExpositionValue(t, "flyp_worker_metrics_endpoint_failures_total"), 2);
  EXPECT_EQ(ExpositionValue(t, "flyp_jobs{state=\"queued\"}"), 1);
  EXPECT_EQ(ExpositionValue(t, "flyp_jobs{state=\"running\"}"), 0);
  EXPECT_EQ(ExpositionValue(t, "flyp_jobs{state=\"succeeded\"}"), 1);
  EXPECT_EQ(ExpositionValue(t, "flyp_jobs{state=\"failed\"}"), 0);
  EXPECT_EQ(ExpositionValue(t, "flyp_jobs_submitted_total"), 2);
  EXPECT_EQ(ExpositionValue(t, "flyp_job_restarts_total"), 1);
  EXPECT_EQ(ExpositionValue(t, "flyp_job_queue_wait_seconds_count"), 2);
  EXPECT_EQ(ExpositionValue(t, "flyp_job_queue_wait_seconds_sum"), 0.5);
  EXPECT_EQ(ExpositionValue(t, "flyp_job_queue_wait_seconds_bucket{le=\"0.1\"}"), 1);
  EXPECT_EQ(ExpositionValue(t, "flyp_slots{pool=\"cpu\",state=\"free\"}"), 6);
  EXPECT_EQ(ExpositionValue(t, "flyp_slots{pool=\"gpu\",state=\"used\"}"), 3);
}

TEST(CoordinatorMetrics, RpcMethodsOutsideTheServicesShareOneSeries) {
  CoordinatorMetrics m;
  m.OnRpc("/flyp.v1.JobService/GetJob", 0);
  m.OnRpc("/flyp.v1.JobService/GetJob", 5);
  m.OnRpc("/flyp.v1.JobService/GetJob", 5);
  for (int i = 0; i < 100; ++i) m.OnRpc("/evil.Service/M" + std::to_string(i), 12);
  const std::string t = m.Render();
  EXPECT_EQ(ExpositionValue(t, "flyp_rpc_requests_total{code=\"OK\",method=\"/flyp.v1.JobService/GetJob\"}"),
            1);
  EXPECT_EQ(
      ExpositionValue(t, "flyp_rpc_requests_total{code=\"NOT_FOUND\",method=\"/flyp.v1.JobService/GetJob\"}"),
      2);
  EXPECT_EQ(ExpositionValue(t, "flyp_rpc_requests_total{code=\"UNIMPLEMENTED\",method=\"other\"}"), 100);
  EXPECT_EQ(t.find("evil"), std::string::npos);
}

TEST(CoordinatorMetrics, NodesByStateAndPerHostSlots) {
  CoordinatorMetrics m;
  m.SetNodes({{"h1", "rack", true, 4, 3, 2, 1}, {"h2", "rack", false, 4, 0, 0, 0}});
  std::string t = m.Render();
  EXPECT_EQ(ExpositionValue(t, "flyp_nodes{state=\"up\"}"), 1);
  EXPECT_EQ(ExpositionValue(t, "flyp_nodes{state=\"down\"}"), 1);
  EXPECT_EQ(ExpositionValue(t, "flyp_node_up{node=\"h2\",pool=\"rack\"}"), 0);
  EXPECT_EQ(ExpositionValue(t, "flyp_node_slots{kind=\"cpu\",node=\"h1\",pool=\"rack\",state=\"used\"}"), 3);
  EXPECT_EQ(ExpositionValue(t, "flyp_node_slots{kind=\"cpu\",node=\"h1\",pool=\"rack\",state=\"free\"}"), 1);
  EXPECT_EQ(ExpositionValue(t, "flyp_node_slots{kind=\"gpu\",node=\"h1\",pool=\"rack\",state=\"free\"}"), 1);
  m.SetNodes({{"h1", "rack", true, 4, 0, 2, 0}, {"h2", "rack", true, 4, 0, 0, 0}});
  t = m.Render();
  EXPECT_EQ(ExpositionValue(t, "flyp_nodes{state=\"up\"}"), 2);
  EXPECT_EQ(ExpositionValue(t, "flyp_nodes{state=\"down\"}"), 0);
  EXPECT_EQ(ExpositionValue(t, "flyp_node_up{node=\"h2\",pool=\"rack\"}"), 1);
  EXPECT_EQ(ExpositionValue(t, "flyp_node_slots{kind=\"cpu\",node=\"h1\",pool=\"rack\",state=\"used\"}"), 0);
}

}  // namespace
}  // namespace flyp::coord
