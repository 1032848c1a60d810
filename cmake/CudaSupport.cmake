# Enables CUDA for the analysis kernels (kernels/cuda) when nvcc is there; pvt builds and passes its tests
# without it. Included from the top level because CMake wants a language enabled in the directory that
# holds every target linking CUDA code.
#   PVT_WITH_CUDA=OFF      never look
#   CMAKE_CUDA_COMPILER    another nvcc than /usr/local/cuda/bin/nvcc
# Sets PVT_HAVE_CUDA.
option(PVT_WITH_CUDA "Build the CUDA analysis kernels when nvcc is found" ON)
set(PVT_HAVE_CUDA OFF)
if(PVT_WITH_CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # Hopper (H100/H200) natively, Turing and Ampere natively, and sm_90 PTX that later GPUs compile at
    # load time. Three small kernels: a few seconds of nvcc per architecture.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 75-real 80-real 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(PVT_HAVE_CUDA ON)
    message(STATUS "pvt: CUDA analysis kernels for ${CMAKE_CUDA_ARCHITECTURES} (nvcc ${CMAKE_CUDA_COMPILER_VERSION})")
  else()
    message(STATUS "pvt: no nvcc, building without the CUDA analysis kernels")
  endif()
endif()
