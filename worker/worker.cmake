# The flyp-worker binary: thin main() dispatching to subcommands.
flyp_add_library(worker_cli TORCH
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/train_command.cc ${CMAKE_CURRENT_LIST_DIR}/encode_command.cc
          ${CMAKE_CURRENT_LIST_DIR}/coordinator_reporter.cc
  PUBLIC_DEPS flyp::train flyp::proto flyp::worker_metrics)
flyp_add_executable(flyp-worker TORCH SOURCES ${CMAKE_CURRENT_LIST_DIR}/main.cc DEPS flyp::worker_cli)
