// Bad input gets one clear line on stderr, a non-zero exit, and leaves nothing at the output path.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.hpp"

namespace pvt {
namespace {

namespace fs = std::filesystem;

void expect_one_line_error(const test::RunResult& r, const std::string& fragment) {
  EXPECT_NE(r.exit_code, 0);
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.rfind("pvt: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << r.err;
}

// Runs transcode into an empty directory and checks that the directory is still empty afterwards.
test::RunResult transcode_into_empty_dir(const std::string& input, const std::string& out_name = "out.mp4") {
  test::TempDir dir;
  auto r = test::run_pvt({"transcode", input, "-o", dir / out_name, "--progress", "none"});
  EXPECT_TRUE(dir.entries().empty()) << "left behind: " << dir.entries().front();
  return r;
}

TEST(BadInput, MissingFile) {
  expect_one_line_error(transcode_into_empty_dir("/nonexistent/clip.mp4"), "no such file");
  expect_one_line_error(test::run_pvt({"analyze", "/nonexistent/clip.mp4"}), "no such file");
}

TEST(BadInput, Directory) {
  test::TempDir in;
  expect_one_line_error(transcode_into_empty_dir(in.path().string()), "is a directory");
}

TEST(BadInput, TextFile) {
  test::TempDir in;
  { std::ofstream(in / "notes.mp4") << "this is not a video, just some text\n"; }
  expect_one_line_error(transcode_into_empty_dir(in / "notes.mp4"), "not a readable media file");
}

TEST(BadInput, PlainTextThatFfmpegWouldRenderAsVideo) {
  // FFmpeg's tty demuxer turns any .txt into "video"; pvt must still call it what it is.
  test::TempDir in;
  {
    std::ofstream notes(in / "notes.txt");
    for (int i = 0; i < 200; ++i) notes << "line " << i << " of some notes that are not a video at all\n";
  }
  expect_one_line_error(transcode_into_empty_dir(in / "notes.txt"), "a text file, not a video");
  expect_one_line_error(test::run_pvt({"analyze", in / "notes.txt"}), "a text file, not a video");
}

TEST(BadInput, EmptyFile) {
  test::TempDir in;
  { std::ofstream(in / "empty.mp4"); }
  expect_one_line_error(transcode_into_empty_dir(in / "empty.mp4"), "empty");
}

TEST(BadInput, AudioOnlyFile) {
  test::TempDir in;
  const std::string audio = in / "tone.m4a";
  ASSERT_EQ(test::run({"ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", audio})
                .exit_code,
            0);
  expect_one_line_error(transcode_into_empty_dir(audio), "audio only");
}

TEST(BadInput, UnwritableOutputPath) {
  test::TempDir dir;
  { std::ofstream(dir / "file") << "x"; }
  // The parent "directory" is a regular file; and a directory that does not exist.
  expect_one_line_error(test::run_pvt({"transcode", test::scene_clip(), "-o", dir / "file/out.mp4"}),
                        "cannot write output");
  expect_one_line_error(test::run_pvt({"transcode", test::scene_clip(), "-o", "/nonexistent/dir/out.mp4"}),
                        "cannot write output");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"file"});
}

TEST(BadInput, TruncatedFileTranscodesWhatCanBeReadOrFailsClearly) {
  test::TempDir in;
  // An MP4 whose index is at the front (faststart) survives truncation: its tail is simply missing.
  const std::string whole = in / "whole.mp4";
  ASSERT_EQ(test::run({"ffmpeg", "-v", "error", "-i", test::scene_clip(), "-c", "copy", "-movflags",
                       "+faststart", whole})
                .exit_code,
            0);
  const std::string cut = in / "cut.mp4";
  fs::copy_file(whole, cut);
  fs::resize_file(cut, fs::file_size(whole) * 6 / 10);
  test::TempDir out;
  const auto r = test::run_pvt({"transcode", cut, "-o", out / "cut_out.mp4", "--progress", "none"});
  if (r.exit_code == 0) {
    EXPECT_NE(r.err.find("warning"), std::string::npos) << "truncation must be reported: " << r.err;
    const long frames = test::ffprobe_frames(out / "cut_out.mp4");
    EXPECT_GT(frames, 50);
    EXPECT_LT(frames, 200);
  } else {
    expect_one_line_error(r, "cut.mp4");
    EXPECT_TRUE(out.entries().empty());
  }
  // Cut inside the header: nothing usable, a clear error.
  const std::string stub = in / "stub.mp4";
  fs::copy_file(whole, stub);
  fs::resize_file(stub, 100);
  expect_one_line_error(transcode_into_empty_dir(stub), "stub.mp4");
}

TEST(BadInput, UsageErrorsAreOneLine) {
  expect_one_line_error(test::run_pvt({"transcode", test::scene_clip()}), "--output");
  expect_one_line_error(test::run_pvt({"transcode", test::scene_clip(), "-o", "/tmp/x.mp4", "--crf", "99"}),
                        "crf");
  expect_one_line_error(
      test::run_pvt({"transcode", test::scene_clip(), "-o", "/tmp/x.mp4", "--bitrate", "fast"}), "--bitrate");
  expect_one_line_error(
      test::run_pvt({"transcode", test::scene_clip(), "-o", "/tmp/x.mp4", "--encoder", "nvenc"}),
      "not available");
}

}  // namespace
}  // namespace pvt
