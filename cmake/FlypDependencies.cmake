# Finds every third-party package flyp uses. All come from Debian 12 packages
# (scripts/install-deps); LibTorch may instead come from CMAKE_PREFIX_PATH
# (e.g. a CUDA LibTorch 2.x from a PyTorch wheel).

find_package(Threads REQUIRED)
# -pthread (i.e. _REENTRANT) on every target: gRPC and absl add it to their
# users, and GCC ignores the shared LibTorch PCH unless all users agree.
add_compile_options(-pthread)
find_package(ZLIB REQUIRED)
find_package(Torch REQUIRED)
find_package(MPI REQUIRED COMPONENTS C)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(JPEG REQUIRED)
find_package(PNG REQUIRED)

# LibTorch's config appends its own flags (e.g. -D_GLIBCXX_USE_CXX11_ABI) to
# TORCH_CXX_FLAGS; apply them everywhere so all targets share one ABI.
if(TORCH_CXX_FLAGS)
  set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")
endif()

# The protoc / grpc_cpp_plugin used for code generation.
find_program(FLYP_PROTOC protoc REQUIRED)
find_program(FLYP_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

# ---- CUDA / NCCL --------------------------------------------------------
# FLYP_WITH_CUDA: LibTorch itself was built with CUDA (tensors can live on GPUs).
# FLYP_WITH_NCCL: the CUDA toolkit with its NCCL was found. The NCCL
# communicator works on raw device pointers and a cudaStream_t, so it builds
# even beside Debian's CPU-only LibTorch.
set(_flyp_torch_cuda OFF)
if(TORCH_CUDA_LIBRARIES OR CUDA_FOUND OR TARGET torch_cuda)
  set(_flyp_torch_cuda ON)
endif()
option(FLYP_WITH_CUDA "LibTorch has CUDA: build the CUDA tensor glue and GPU paths" ${_flyp_torch_cuda})

set(FLYP_CUDA_ROOT "/usr/local/cuda" CACHE PATH "CUDA toolkit prefix (its NCCL is used)")
find_path(FLYP_NCCL_INCLUDE_DIR nccl.h
  HINTS ${FLYP_CUDA_ROOT}/include ${FLYP_CUDA_ROOT}/targets/x86_64-linux/include ENV NCCL_HOME
  PATH_SUFFIXES include)
find_library(FLYP_NCCL_LIBRARY nccl
  HINTS ${FLYP_CUDA_ROOT}/lib ${FLYP_CUDA_ROOT}/lib64 ${FLYP_CUDA_ROOT}/targets/x86_64-linux/lib ENV NCCL_HOME
  PATH_SUFFIXES lib lib64)
find_path(FLYP_CUDART_INCLUDE_DIR cuda_runtime_api.h
  HINTS ${FLYP_CUDA_ROOT}/include ${FLYP_CUDA_ROOT}/targets/x86_64-linux/include)
find_library(FLYP_CUDART_LIBRARY cudart
  HINTS ${FLYP_CUDA_ROOT}/lib64 ${FLYP_CUDA_ROOT}/lib ${FLYP_CUDA_ROOT}/targets/x86_64-linux/lib)
set(_flyp_nccl_found OFF)
if(FLYP_NCCL_INCLUDE_DIR AND FLYP_NCCL_LIBRARY AND FLYP_CUDART_INCLUDE_DIR AND FLYP_CUDART_LIBRARY)
  set(_flyp_nccl_found ON)
endif()
option(FLYP_WITH_NCCL "Build the NCCL communicator (needs the CUDA toolkit's NCCL)" ${_flyp_nccl_found})
if(FLYP_WITH_NCCL AND NOT _flyp_nccl_found)
  message(FATAL_ERROR "FLYP_WITH_NCCL=ON but nccl.h/libnccl/cudart were not found under FLYP_CUDA_ROOT=${FLYP_CUDA_ROOT}")
endif()
if(FLYP_WITH_NCCL)
  add_library(flyp_nccl_ext INTERFACE)
  target_include_directories(flyp_nccl_ext SYSTEM INTERFACE ${FLYP_NCCL_INCLUDE_DIR} ${FLYP_CUDART_INCLUDE_DIR})
  target_link_libraries(flyp_nccl_ext INTERFACE ${FLYP_NCCL_LIBRARY} ${FLYP_CUDART_LIBRARY})
  add_library(flyp::nccl_ext ALIAS flyp_nccl_ext)
endif()

# ---- sanitizers -----------------------------------------------------------
if(FLYP_SANITIZE)
  string(REPLACE ";" "," _flyp_san "${FLYP_SANITIZE}")
  add_compile_options(-fsanitize=${_flyp_san} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${_flyp_san})
endif()
