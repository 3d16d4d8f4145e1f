# Helpers that keep every component's CMakeLists.txt short and uniform.

# flyp_add_library(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...] [TORCH])
# Creates flyp_<name> with alias flyp::<name>. Includes are rooted at the
# repository ("common/status.h", "worker/model/clip.h"). TORCH marks a
# LibTorch-heavy target: it links torch and gets precompiled headers.
function(flyp_add_library name)
  cmake_parse_arguments(A "TORCH" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(flyp_${name} STATIC ${A_SOURCES})
  add_library(flyp::${name} ALIAS flyp_${name})
  target_include_directories(flyp_${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  target_link_libraries(flyp_${name} PUBLIC ${A_PUBLIC_DEPS} PRIVATE ${A_PRIVATE_DEPS})
  target_compile_options(flyp_${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(A_TORCH)
    target_link_libraries(flyp_${name} PUBLIC torch)
    flyp_torch_pch(flyp_${name})
  endif()
endfunction()

# Precompiled LibTorch headers: parsing <torch/torch.h> dominates compile
# time, so every torch-heavy target reuses one PCH built once.
function(flyp_torch_pch target)
  if(NOT FLYP_USE_PCH)
    return()
  endif()
  if(NOT TARGET flyp_torch_pch)
    file(WRITE ${PROJECT_BINARY_DIR}/flyp_torch_pch.cc "// PCH host\n")
    add_library(flyp_torch_pch STATIC ${PROJECT_BINARY_DIR}/flyp_torch_pch.cc)
    # Same usage requirements as every torch target (Threads adds -pthread,
    # i.e. _REENTRANT), or GCC silently refuses the PCH.
    target_link_libraries(flyp_torch_pch PUBLIC torch Threads::Threads)
    target_compile_options(flyp_torch_pch PRIVATE -Wall -Wextra -Wno-unused-parameter)
    target_precompile_headers(flyp_torch_pch PRIVATE <torch/torch.h> <vector> <string> <memory>)
  endif()
  target_precompile_headers(${target} REUSE_FROM flyp_torch_pch)
endfunction()

# flyp_add_executable(<name> SOURCES ... DEPS ...)
function(flyp_add_executable name)
  cmake_parse_arguments(A "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(A_TORCH)
    target_link_libraries(${name} PRIVATE torch)
    flyp_torch_pch(${name})
  endif()
endfunction()

# flyp_add_test(<name> SOURCES ... DEPS ... [LABELS unit|integration|slow]
#               [TORCH] [TIMEOUT s] [MPI_RANKS n] [ARGS ...])
# Registers a GoogleTest binary with CTest. MPI_RANKS runs it under
# `mpirun --oversubscribe -np n`. Tests find shared data through the
# FLYP_SHARED_DATA / FLYP_SOURCE_DIR environment variables.
function(flyp_add_test name)
  if(NOT FLYP_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(A "TORCH" "TIMEOUT;MPI_RANKS" "SOURCES;DEPS;LABELS;ARGS" ${ARGN})
  if(NOT A_LABELS)
    set(A_LABELS unit)
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  if(NOT TARGET ${name})
    add_executable(${name} ${A_SOURCES})
    target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gmock flyp::testing)
    target_compile_options(${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
    if(A_TORCH)
      target_link_libraries(${name} PRIVATE torch)
      flyp_torch_pch(${name})
    endif()
  endif()
  if(A_MPI_RANKS)
    set(_cmd ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe -np ${A_MPI_RANKS}
        $<TARGET_FILE:${name}> ${A_ARGS})
    set(_tname ${name}_np${A_MPI_RANKS})
  else()
    set(_cmd $<TARGET_FILE:${name}> ${A_ARGS})
    set(_tname ${name})
  endif()
  add_test(NAME ${_tname} COMMAND ${_cmd})
  set_tests_properties(${_tname} PROPERTIES LABELS "${A_LABELS}" TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "FLYP_SOURCE_DIR=${PROJECT_SOURCE_DIR};FLYP_BINARY_DIR=${PROJECT_BINARY_DIR};FLYP_SHARED_DATA=${PROJECT_SOURCE_DIR}/../shared/data;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
endfunction()
