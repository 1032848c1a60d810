// Helpers for the media tests: run a program and capture its output, make and remove temporary
// directories, generate clips with lavfi, and ask ffprobe/ffmpeg (independent judges) about outputs.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pvt::test {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv (argv[0] found on PATH if it has no slash) with extra environment entries.
RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});

// Runs the pvt binary under test.
RunResult run_pvt(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  // Every entry of the directory (names), to prove nothing was left behind.
  std::vector<std::string> entries() const;

 private:
  std::filesystem::path path_;
};

// 8 s, 320x240 at 25 fps, four scenes with hard cuts at frames 50, 100 and 150, one keyframe (frame 0)
// so every cut lies between keyframes. With audio when `audio` is set. Cached per process.
std::string scene_clip(bool audio = false);
inline const std::vector<int> kSceneClipCuts{50, 100, 150};

// Path of a shared clip, or nullopt (the caller skips, naming it).
std::optional<std::string> shared_clip(const std::string& name);
std::string shared_media_dir();

// Number of video packets (frames) ffprobe counts.
long ffprobe_frames(const std::string& path);
// A stream property via ffprobe ("duration", "codec_name", ...) of the first video/audio stream.
std::string ffprobe_stream(const std::string& path, const std::string& selector, const std::string& entry);
// The container duration in seconds ffprobe reports.
double ffprobe_duration(const std::string& path);
// key_frame flags of the decoded video frames, in presentation order.
std::vector<bool> ffprobe_keyframes(const std::string& path);
// Average luma+chroma PSNR of `encoded` against `reference` (libavfilter's psnr, via the ffmpeg CLI),
// both brought to 8-bit 4:2:0 and the reference cropped to the encoded size.
double psnr(const std::string& encoded, const std::string& reference);

// The threads of process `pid` (0: this one) whose scheduling policy is not SCHED_OTHER, as "tid:policy".
std::vector<std::string> threads_not_at_normal_scheduling(int pid = 0);

}  // namespace pvt::test
