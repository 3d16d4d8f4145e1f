# Training report (report.json / report.md / wiseft.svg), the SVG plot writer
# and progress output (stderr lines, events.jsonl). Plain C++17: no LibTorch.
# Included from worker/train/CMakeLists.txt; paths are relative to this file.

flyp_add_library(train_report
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/report.cc
          ${CMAKE_CURRENT_LIST_DIR}/report_json.cc
          ${CMAKE_CURRENT_LIST_DIR}/report_markdown.cc
          ${CMAKE_CURRENT_LIST_DIR}/svg_plot.cc
          ${CMAKE_CURRENT_LIST_DIR}/progress.cc
  PUBLIC_DEPS flyp::common)

flyp_add_test(train_report_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/report_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/svg_plot_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/progress_test.cc
  DEPS flyp::train_report
  LABELS unit TIMEOUT 60)
