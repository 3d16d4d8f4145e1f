# Fast-path pieces of training, included from worker/train/CMakeLists.txt:
# gradient accumulation with embedding caching, device helpers (pinned
# memory, async copies, bf16 autocast, OpenBLAS kernels), FusedAdamW, and the
# model's fast-path test (attention, activation checkpointing).
set(_gc_dir ${PROJECT_SOURCE_DIR}/worker/train)

flyp_add_library(device_util TORCH
  SOURCES ${_gc_dir}/device_util.cc
  PUBLIC_DEPS flyp::common)
flyp_add_library(grad_cache TORCH
  SOURCES ${_gc_dir}/grad_cache.cc
  PUBLIC_DEPS flyp::model flyp::dist flyp::device_util)

flyp_add_test(grad_cache_test TORCH SOURCES ${_gc_dir}/grad_cache_test.cc
  DEPS flyp::grad_cache LABELS unit TIMEOUT 120)
flyp_add_test(grad_cache_test TORCH SOURCES ${_gc_dir}/grad_cache_test.cc
  DEPS flyp::grad_cache LABELS integration MPI_RANKS 2 TIMEOUT 120)
flyp_add_test(device_util_test TORCH SOURCES ${_gc_dir}/device_util_test.cc
  DEPS flyp::device_util LABELS unit TIMEOUT 60)
flyp_add_test(transformer_fast_path_test TORCH
  SOURCES ${PROJECT_SOURCE_DIR}/worker/model/transformer_fast_path_test.cc
  DEPS flyp::model LABELS unit TIMEOUT 120)

flyp_add_library(fused_adamw TORCH
  SOURCES ${_gc_dir}/fused_adamw.cc
  PUBLIC_DEPS flyp::common)
# Vectorised sqrt (no errno) and no implicit multiply-add fusion; see the
# comment on UpdateRange.
set_source_files_properties(${_gc_dir}/fused_adamw.cc PROPERTIES
  COMPILE_OPTIONS "-O3;-fno-math-errno;-ffp-contract=off" SKIP_PRECOMPILE_HEADERS ON)
flyp_add_test(fused_adamw_test TORCH SOURCES ${_gc_dir}/fused_adamw_test.cc
  DEPS flyp::fused_adamw LABELS unit TIMEOUT 60)
