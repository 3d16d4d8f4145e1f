# flyp::metrics: prometheus-cpp wiring (common/metrics.h). Included from
# common/CMakeLists.txt and, until then, from its users (include_guard keeps
# it single).
include_guard(GLOBAL)
flyp_add_library(metrics
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics.cc
  PUBLIC_DEPS flyp::common prometheus-cpp::core prometheus-cpp::pull)

flyp_add_test(metrics_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_test.cc ${PROJECT_SOURCE_DIR}/tests/observability/http.cc
  DEPS flyp::metrics
  TIMEOUT 30)
