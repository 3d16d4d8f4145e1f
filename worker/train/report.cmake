# Training report (report.json / report.md / wiseft.svg), the SVG plot writer
# and progress output (stderr lines, events.jsonl). Plain C++17: no LibTorch.
# Included from worker/train/CMakeLists.txt; paths are relative to this file.

# common/json.cc is not yet listed in flyp::common; worker/model compiles it
# as flyp::json_local. Reuse that target, or create it when this fragment is
# processed first, unless flyp::common already carries json.cc.
get_target_property(_flyp_common_srcs flyp_common SOURCES)
if(NOT "json.cc" IN_LIST _flyp_common_srcs AND NOT TARGET flyp_json_local)
  flyp_add_library(json_local
    SOURCES ${PROJECT_SOURCE_DIR}/common/json.cc
    PUBLIC_DEPS flyp::common)
endif()

flyp_add_library(train_report
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/report.cc
          ${CMAKE_CURRENT_LIST_DIR}/svg_plot.cc
          ${CMAKE_CURRENT_LIST_DIR}/progress.cc
  PUBLIC_DEPS flyp::common $<TARGET_NAME_IF_EXISTS:flyp_json_local>)

flyp_add_test(train_report_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/report_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/svg_plot_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/progress_test.cc
  DEPS flyp::train_report
  LABELS unit TIMEOUT 60)
