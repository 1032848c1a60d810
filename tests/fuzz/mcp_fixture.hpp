// The world the MCP fuzz targets run the real tools in: a temporary tree
//
//   <tmp>/out/            the output sandbox (its realpath, as prepare_output_dir gives it)
//         clip.mp4        a 6-frame 64x48 H.264 clip (tests/fuzz/data), so inputs can pass the checks
//         notes.txt       not a video
//         sub/            a folder;  in-link -> sub (a symlink that stays inside)
//         out-link -> <tmp>/outside   dangling -> <tmp>/missing   loop -> loop
//   <tmp>/outside/        must stay empty: nothing may ever be created outside the sandbox
//
// a job registry whose runner stands in for the engine (no transcode ever runs: it reports a little
// progress and succeeds at once, or fails for bitrate jobs), and the tool set the server builds.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "error.hpp"
#include "fuzz_support.hpp"
#include "job_registry.hpp"
#include "logging.hpp"
#include "output_sandbox.hpp"
#include "server_config.hpp"
#include "tools.hpp"

namespace pvt::fuzz {

namespace fs = std::filesystem;

// Call first, from LLVMFuzzerInitialize: hides every GPU from the process. Each analyze_video call
// probes the analysis backends again, and the Vulkan drivers leak a little on every device enumeration
// (LeakSanitizer would blame the input); it also keeps runs alike on machines with and without a GPU.
// Analyses then run on the CPU kernels, as on a CI machine.
inline void hide_gpus() {
  setenv("VK_ICD_FILENAMES", "/nonexistent", 1);  // Vulkan loader, and its newer spelling
  setenv("VK_DRIVER_FILES", "/nonexistent", 1);
  setenv("CUDA_VISIBLE_DEVICES", "", 1);
}

class McpFixture {
 public:
  McpFixture() {
    const fs::path tmp = temp_dir();
    outside_ = tmp / "outside";
    fs::create_directories(outside_);
    config_.output_dir = (tmp / "out").string();
    mcp::prepare_output_dir(config_);
    root_ = config_.output_dir;
    fs::copy_file(fs::path(PVT_FUZZ_DATA) / "clip.mp4", root_ / "clip.mp4",
                  fs::copy_options::overwrite_existing);
    write_file(root_ / "notes.txt", "not a video\n");
    fs::create_directories(root_ / "sub");
    fs::create_directory_symlink("sub", root_ / "in-link");
    fs::create_directory_symlink(outside_, root_ / "out-link");
    fs::create_symlink(tmp / "missing", root_ / "dangling");
    fs::create_symlink("loop", root_ / "loop");
    for (const auto& e : fs::directory_iterator(root_)) fixtures_.insert(e.path().filename().string());
    config_.max_workers = 1;
    config_.segment_duration = 1;
    sandbox_ = std::make_unique<mcp::OutputSandbox>(root_);
  }

  const fs::path& root() const { return root_; }
  const mcp::ServerConfig& config() const { return config_; }
  const mcp::OutputSandbox& sandbox() const { return *sandbox_; }

  // The engine's stand-in: no processes, no files, done in microseconds.
  static mcp::JobRegistry::Runner runner() {
    // Whatever else the engine's signature passes (a SavedJob*) is not needed here.
    return [](const TranscodeOptions& o, const ProgressFn& progress, const WarnFn& warn, auto...) {
      JobProgress p;
      p.stage = "encode";
      p.frames_total = 6;
      p.frames_done = 3;
      progress(p);
      if (o.bitrate > 0) {
        warn("a warning from the engine");
        throw Error(ErrorCode::kEncode, o.input + ": the stand-in engine fails bitrate jobs");
      }
      TranscodeSummary s;
      s.input = o.input;
      s.output = o.output;
      s.format = o.format;
      s.files = {o.output};
      s.frames = 6;
      return s;
    };
  }

  // True when `path` is physically inside the sandbox: its longest existing prefix with every symlink
  // resolved by the kernel (realpath), the rest taken lexically. (Not fs::weakly_canonical: it fails
  // outright on a component longer than NAME_MAX, which only means that the path cannot be created.)
  bool physically_inside(const fs::path& path) const {
    fs::path existing = path;
    struct stat st {};
    while (lstat(existing.c_str(), &st) != 0 && existing.has_relative_path())
      existing = existing.parent_path();
    std::error_code ec;
    const fs::path real =
        (fs::canonical(existing, ec) / path.lexically_relative(existing)).lexically_normal();
    if (ec) return false;  // a dangling or looping symlink: nothing can be created through it
    const fs::path rel = real.lexically_relative(root_);
    return !rel.empty() && rel != "." && *rel.begin() != "..";
  }

  // After each input: nothing may have appeared outside the sandbox; what the tools created inside it
  // (job folders) is removed so every input starts from the same tree.
  void check_and_reset() const {
    std::error_code ec;
    PVT_FUZZ_CHECK(fs::is_empty(outside_, ec), "a file was created outside the sandbox (in outside/)");
    for (const auto& e : fs::directory_iterator(temp_dir())) {
      const std::string name = e.path().filename().string();
      PVT_FUZZ_CHECK(name == "out" || name == "outside",
                     "a file was created outside the sandbox (next to it)");
    }
    for (const auto& e : fs::directory_iterator(root_))
      if (!fixtures_.count(e.path().filename().string())) fs::remove_all(e.path(), ec);
    for (const auto& e : fs::directory_iterator(root_ / "sub")) fs::remove_all(e.path(), ec);
  }

 private:
  fs::path root_, outside_;
  mcp::ServerConfig config_;
  std::unique_ptr<mcp::OutputSandbox> sandbox_;
  std::set<std::string> fixtures_;
};

}  // namespace pvt::fuzz
