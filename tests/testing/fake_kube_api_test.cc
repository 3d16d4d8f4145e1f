// The fake Kubernetes API behaves as the parts of the real one the launcher
// relies on: create/get/list/delete with resourceVersions, watches from a
// resourceVersion (and 410 once it is compacted away), logs with timestamps
// and sinceTime, and requests that hang while told to.
#include "tests/testing/fake_kube_api.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace flyp::testing {
namespace {

const char kJobs[] = "/apis/kubeflow.org/v2beta1/namespaces/ml/mpijobs";
const char kPods[] = "/api/v1/namespaces/ml/pods";

struct Reply {
  long status = 0;
  std::string body;
  CURLcode rc = CURLE_OK;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Reply Call(const std::string& url, const std::string& method = "GET", const std::string& body = "",
           long timeout_ms = 5000) {
  Reply r;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (!body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  r.rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_cleanup(c);
  return r;
}

Json Job(const std::string& name, const std::string& team) {
  return Json(Json::Object{
      {"apiVersion", "kubeflow.org/v2beta1"},
      {"kind", "MPIJob"},
      {"metadata", Json(Json::Object{{"name", name}, {"labels", Json(Json::Object{{"team", team}})}})}});
}

std::vector<Json> Events(const std::string& body) {
  std::vector<Json> out;
  size_t start = 0;
  for (size_t nl; (nl = body.find('\n', start)) != std::string::npos; start = nl + 1) {
    auto j = ParseJson(body.substr(start, nl - start));
    EXPECT_TRUE(j.ok()) << body;
    if (j.ok()) out.push_back(*j);
  }
  return out;
}

TEST(FakeKubeApi, CreateGetListDeleteWithResourceVersions) {
  FakeKubeApi api;
  Reply r = Call(api.url() + kJobs, "POST", Job("a", "x").Dump());
  ASSERT_EQ(r.status, 201) << r.body;
  auto a = ParseJson(r.body);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->Find("metadata")->Find("uid")->as_string(), "uid-a");
  const int64_t rv_a = std::stoll(a->Find("metadata")->Find("resourceVersion")->as_string());
  EXPECT_EQ(Call(api.url() + kJobs, "POST", Job("a", "x").Dump()).status, 409);
  ASSERT_EQ(Call(api.url() + kJobs, "POST", Job("b", "y").Dump()).status, 201);
  auto list = ParseJson(Call(api.url() + std::string(kJobs) + "?labelSelector=team%3Dy").body);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->Find("items")->size(), 1u);
  EXPECT_EQ(list->Find("items")->as_array()[0].Find("metadata")->Find("name")->as_string(), "b");
  EXPECT_GT(std::stoll(list->Find("metadata")->Find("resourceVersion")->as_string()), rv_a);
  EXPECT_EQ(Call(api.url() + kJobs + "/a").status, 200);
  EXPECT_EQ(Call(api.url() + kJobs + "/a", "DELETE").status, 200);
  EXPECT_EQ(Call(api.url() + kJobs + "/a").status, 404);
  EXPECT_EQ(Call(api.url() + kJobs + "/a", "DELETE").status, 404);
}

TEST(FakeKubeApi, WatchStreamsEventsAfterAResourceVersionAndExpiresOldOnes) {
  FakeKubeApi api;
  Json a = api.Put(kJobs, Job("a", "x"));
  const std::string rv = a.Find("metadata")->Find("resourceVersion")->as_string();
  std::thread later([&] {
    while (api.open_watches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    Json b = Job("a", "x");
    b.Set("status", Json(Json::Object{{"phase", "Running"}}));
    api.Put(kJobs, b);
    api.Put(kJobs, Job("c", "other"));  // filtered out by the selector
    api.Remove(kJobs, "a");
    api.CloseWatches();
  });
  Reply w = Call(api.url() + kJobs + "?watch=true&labelSelector=team%3Dx&resourceVersion=" + rv);
  later.join();
  ASSERT_EQ(w.status, 200);
  auto events = Events(w.body);
  ASSERT_EQ(events.size(), 2u) << w.body;
  EXPECT_EQ(events[0].Find("type")->as_string(), "MODIFIED");
  EXPECT_EQ(events[0].Find("object")->Find("status")->Find("phase")->as_string(), "Running");
  EXPECT_EQ(events[1].Find("type")->as_string(), "DELETED");
  // From "0": the current state as ADDED, then nothing until closed.
  api.Put(kJobs, Job("d", "x"));
  std::thread closer([&] {
    while (api.open_watches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    api.CloseWatches();
  });
  events = Events(Call(api.url() + kJobs + "?watch=true&labelSelector=team%3Dx&resourceVersion=0").body);
  closer.join();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].Find("object")->Find("metadata")->Find("name")->as_string(), "d");
  // An RV compacted away: one ERROR event with a 410 Status, then the end.
  api.KeepHistory(1);
  events = Events(Call(api.url() + kJobs + "?watch=true&resourceVersion=" + rv).body);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].Find("type")->as_string(), "ERROR");
  EXPECT_EQ(events[0].Find("object")->Find("code")->as_int64(), 410);
  // timeoutSeconds ends a quiet watch.
  Reply quiet = Call(api.url() + kJobs + "?watch=true&timeoutSeconds=1&resourceVersion=" +
                     api.Get(kJobs, "d")->Find("metadata")->Find("resourceVersion")->as_string());
  EXPECT_EQ(quiet.rc, CURLE_OK);
  EXPECT_EQ(quiet.body, "");
}

TEST(FakeKubeApi, LogsWithTimestampsAndSinceTime) {
  FakeKubeApi api;
  api.Put(kPods, Json(Json::Object{{"metadata", Json(Json::Object{{"name", "p"}})}}));
  const int64_t t0 = int64_t{1767225600} * 1000000000;  // 2026-01-01T00:00:00Z
  api.AppendLog("ml", "p", "one", t0 + 100);
  api.AppendLog("ml", "p", "two", t0 + 2000000000LL + 5);
  EXPECT_EQ(Call(api.url() + kPods + "/p/log").body, "one\ntwo\n");
  EXPECT_EQ(Call(api.url() + kPods + "/p/log?timestamps=true&sinceTime=2026-01-01T00%3A00%3A02Z").body,
            "2026-01-01T00:00:02.000000005Z two\n");
  EXPECT_EQ(Call(api.url() + kPods + "/q/log").status, 404);
}

TEST(FakeKubeApi, HungRequestsWaitUntilReleased) {
  FakeKubeApi api;
  api.SetHang(true);
  Reply r = Call(api.url() + kJobs, "GET", "", /*timeout_ms=*/300);
  EXPECT_EQ(r.rc, CURLE_OPERATION_TIMEDOUT) << "no answer while hung";
  EXPECT_EQ(r.body, "");
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    api.SetHang(false);
  });
  r = Call(api.url() + kJobs);
  release.join();
  EXPECT_EQ(r.status, 200);
}

}  // namespace
}  // namespace flyp::testing
