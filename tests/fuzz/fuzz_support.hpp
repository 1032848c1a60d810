// Shared by the fuzz targets: invariant checks that libFuzzer reports as crashes, a private temporary
// directory per fuzzing process, and small helpers to build inputs.
#pragma once

#include <sanitizer/lsan_interface.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

// An invariant of the code under test: when it does not hold, the input is a bug. __builtin_trap makes
// libFuzzer save the input as a crash (crash-<sha1>) and stop.
#define PVT_FUZZ_CHECK(cond, what)                                                                  \
  do {                                                                                              \
    if (!(cond)) {                                                                                  \
      std::fprintf(stderr, "pvt fuzz: invariant violated: %s (%s:%d)\n", what, __FILE__, __LINE__); \
      __builtin_trap();                                                                             \
    }                                                                                               \
  } while (0)

namespace pvt::fuzz {

// A directory of its own for this process, removed at exit (not after a crash: scripts/test-fuzz.sh
// points PVT_FUZZ_TMPDIR at a folder it removes itself). Else in /dev/shm when there is one (the targets
// that read files run some 40x faster there than on a disk-backed /tmp), else under $TMPDIR.
inline const std::filesystem::path& temp_dir() {
  static const std::filesystem::path dir = [] {
    const char* given = std::getenv("PVT_FUZZ_TMPDIR");
    const char* tmp = std::getenv("TMPDIR");
    const std::string base = given && *given                        ? given
                             : access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm"
                             : tmp && *tmp                          ? tmp
                                                                    : "/tmp";
    std::string pattern = base + "/pvt-fuzz-XXXXXX";
    if (!mkdtemp(pattern.data())) {
      std::perror("pvt fuzz: mkdtemp");
      std::abort();
    }
    // realpath: the sandbox root must be physical, as prepare_output_dir makes it.
    std::filesystem::path p = std::filesystem::canonical(pattern);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(temp_dir(), ec);
    });
    return p;
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace pvt::fuzz
