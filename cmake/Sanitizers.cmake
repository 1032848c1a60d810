# PVT_SANITIZE=ON builds every C/C++ target of ours with AddressSanitizer + UndefinedBehaviorSanitizer
# (scripts/build-sanitized.sh, used by the corrupt-input corpus: scripts/test-corrupt.sh). nvcc takes none
# of these flags, so they are limited to C and C++ compiles and to host links. -fno-sanitize-recover makes
# every UBSan report fatal, so a run that hits one cannot exit 0 and go unnoticed.
option(PVT_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(PVT_SANITIZE)
  set(pvt_sanitize_flags -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  # _GLIBCXX_ASSERTIONS: operator[] and friends check their bounds too (ASan misses reads within capacity).
  # -O0 for all but the pixel kernels (pvt_kernels_core asks for -O3): a third less compile time; the corpus and
  # fuzzers spend their time in FFmpeg's libraries and the kernels, not in our glue.
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:${pvt_sanitize_flags};-g;-O0;-D_GLIBCXX_ASSERTIONS>")
  add_link_options("$<HOST_LINK:$<$<LINK_LANGUAGE:C,CXX>:${pvt_sanitize_flags}>>")
  message(STATUS "pvt: AddressSanitizer + UndefinedBehaviorSanitizer build (${CMAKE_CXX_COMPILER_ID})")
endif()
