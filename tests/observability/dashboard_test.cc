// deploy/grafana/flyp-dashboard.json: every metric a query uses is exported
// (by WorkerMetrics or CoordinatorMetrics), every exported flyp_ family is
// shown somewhere, every query is valid PromQL (promtool check rules), and
// the dashboard is importable (datasource variable, job/rank variables).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "common/json.h"
#include "coordinator/metrics.h"
#include "tests/testing/test_env.h"
#include "worker/metrics/worker_metrics.h"

namespace flyp::testing {
namespace {

// name -> type from the "# TYPE name type" lines of an exposition.
std::map<std::string, std::string> Families(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string hash, kw, name, type;
    if (ls >> hash >> kw >> name >> type && hash == "#" && kw == "TYPE") out[name] = type;
  }
  return out;
}

std::map<std::string, std::string> Exported() {
  std::map<std::string, std::string> all = Families(worker::WorkerMetrics("j", 0).Render());
  // Per-host series exist once the coordinator knows its hosts (at its first step).
  coord::CoordinatorMetrics coordinator;
  coordinator.SetNodes({coord::CoordinatorMetrics::NodeUsage{"h1", "default", true, 2, 1, 1, 0}});
  for (const auto& kv : Families(coordinator.Render())) all.insert(kv);
  return all;
}

void CollectExprs(const Json& j, std::vector<std::string>* out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.as_object()) {
      if (k == "expr" && v.is_string())
        out->push_back(v.as_string());
      else
        CollectExprs(v, out);
    }
  } else if (j.is_array()) {
    for (const Json& v : j.as_array()) CollectExprs(v, out);
  }
}

Json Dashboard() {
  auto j = ParseJson(ReadFileOrDie(SourceDir() + "/deploy/grafana/flyp-dashboard.json"));
  EXPECT_TRUE(j.ok()) << j.status();
  return j.ok() ? *j : Json();
}

TEST(Dashboard, EveryQueriedMetricIsExportedAndEveryFamilyIsShown) {
  const auto exported = Exported();
  std::vector<std::string> exprs;
  CollectExprs(Dashboard(), &exprs);
  ASSERT_GE(exprs.size(), 15u);
  std::set<std::string> used;
  const std::regex name_re("flyp_[a-z_]+");
  for (const std::string& e : exprs) {
    for (std::sregex_iterator it(e.begin(), e.end(), name_re), end; it != end; ++it) {
      std::string name = it->str();
      if (!exported.count(name)) {  // histogram series
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
          std::string s(suffix);
          if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
            std::string base = name.substr(0, name.size() - s.size());
            if (exported.count(base) && exported.at(base) == "histogram") name = base;
          }
        }
      }
      EXPECT_TRUE(exported.count(name))
          << "dashboard query uses " << it->str() << ", which nothing exports: " << e;
      used.insert(name);
    }
  }
  for (const auto& [name, type] : exported) {
    if (name.rfind("flyp_", 0) == 0) {
      EXPECT_TRUE(used.count(name)) << name << " is exported but not on the dashboard";
    }
  }
  // ARCHITECTURE §6, verbatim.
  for (const char* name :
       {"flyp_train_loss", "flyp_train_step_total", "flyp_train_samples_total", "flyp_train_logit_scale",
        "flyp_train_learning_rate", "flyp_step_seconds", "flyp_collective_bytes_total", "flyp_eval_accuracy",
        "flyp_device_memory_bytes", "flyp_jobs", "flyp_jobs_submitted_total", "flyp_job_queue_wait_seconds",
        "flyp_job_restarts_total", "flyp_slots", "flyp_rpc_requests_total"}) {
    EXPECT_TRUE(exported.count(name)) << name;
  }
}

TEST(Dashboard, QueriesArePromQL) {
  std::vector<std::string> exprs;
  CollectExprs(Dashboard(), &exprs);
  std::ostringstream rules;
  rules << "groups:\n- name: dashboard\n  rules:\n";
  for (size_t i = 0; i < exprs.size(); ++i) {
    std::string e = std::regex_replace(exprs[i], std::regex("\\$__rate_interval"), "1m");
    e = std::regex_replace(e, std::regex("\\$(job|rank)"), ".*");
    std::string quoted;  // YAML single-quoted scalar
    for (char c : e) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    rules << "  - record: flyp:dashboard_query_" << i << "\n    expr: '" << quoted << "'\n";
  }
  const std::string file = TempDir() + "/dashboard-rules.yml";
  std::ofstream(file) << rules.str();
  const std::string out = TempDir() + "/promtool.out";
  int rc = std::system(("promtool check rules " + file + " > " + out + " 2>&1").c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << ReadFileOrDie(out) << "\n" << rules.str();
}

TEST(Dashboard, IsImportableWithDatasourceAndJobRankVariables) {
  Json d = Dashboard();
  ASSERT_TRUE(d.is_object());
  ASSERT_NE(d.Find("title"), nullptr);
  ASSERT_NE(d.Find("uid"), nullptr);
  const Json* list = d.Find("templating") ? d.Find("templating")->Find("list") : nullptr;
  ASSERT_TRUE(list && list->is_array());
  std::map<std::string, std::string> vars;
  for (const Json& v : list->as_array()) vars[v.Find("name")->as_string()] = v.Find("type")->as_string();
  EXPECT_EQ(vars["DS_PROMETHEUS"], "datasource");
  EXPECT_EQ(vars["job"], "query");
  EXPECT_EQ(vars["rank"], "query");
  // Every panel with queries reads from the datasource variable.
  int panels = 0;
  for (const Json& p : d.Find("panels")->as_array()) {
    if (!p.Find("targets")) continue;
    ++panels;
    ASSERT_NE(p.Find("datasource"), nullptr) << p.Dump();
    EXPECT_EQ(p.Find("datasource")->Find("uid")->as_string(), "${DS_PROMETHEUS}")
        << p.Find("title")->as_string();
  }
  EXPECT_GE(panels, 12);
}

}  // namespace
}  // namespace flyp::testing
