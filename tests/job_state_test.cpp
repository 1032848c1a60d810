// The job state file: exact round trip, refusal of damaged or hostile content, and the fingerprint and
// settings comparison that decides whether a job may resume.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "error.hpp"
#include "job_dir.hpp"
#include "job_state.hpp"
#include "rate_text.hpp"

namespace pvt {
namespace {

namespace fs = std::filesystem;

JobState sample_state() {
  JobState s;
  s.job_id = "123-456";
  s.output = "/tmp/out.mp4";
  s.format = "mp4";
  s.input = {"/tmp/in.mp4", 1000, 42, std::string(64, 'a'), 100};
  s.settings = {{"crf", 23}, {"preset", "medium"}, {"bitrate", 0}};
  s.threads_per_worker = 2;
  s.plan_basis = "index";
  for (int i = 0; i < 2; ++i) {
    Segment seg;
    seg.index = i;
    seg.start_frame = i * 50;
    seg.end_frame = (i + 1) * 50;
    seg.start_pts = i * 50 * 512;
    seg.end_pts = (i + 1) * 50 * 512;
    seg.seek_keyframe = i * 50;
    seg.duration_s = 2;
    seg.start_s = 2.0 * i;
    seg.cut_reason = i ? "keyframe" : "start";
    seg.cost = 50.5;
    seg.complexity = 1.25;
    seg.forced_keyframes = {i * 50 + 10};
    s.plan.push_back(seg);
  }
  FinishedSegment f;
  f.index = 1;
  f.file = "seg_00001.mp4";
  f.sha256 = std::string(64, 'b');
  f.stats.segment = 1;
  f.stats.frames = 50;
  f.stats.backend = "x264";
  f.stats.keyframes = {50, 60};
  f.attempts = 2;
  f.peak_rss_bytes = 1 << 20;
  s.finished.push_back(f);
  s.started = "2026-11-25T00:00:00Z";
  s.updated = "2026-11-25T00:01:00Z";
  s.pid = 77;
  return s;
}

TEST(JobState, RoundTripsExactly) {
  const JobState s = sample_state();
  EXPECT_EQ(parse_job_state(job_state_text(s)), s);
}

TEST(JobState, RoundTripsPathsThatAreNotUtf8) {
  JobState s = sample_state();
  s.output = "/tmp/caf\xe9.mp4";  // Latin-1: file names are bytes, JSON strings are UTF-8
  s.input.path = "/tmp/in\xff.mp4";
  EXPECT_EQ(parse_job_state(job_state_text(s)), s);
}

TEST(JobState, RefusesMalformedText) {
  EXPECT_THROW(parse_job_state(""), Error);
  EXPECT_THROW(parse_job_state("[1,2]"), Error);
  EXPECT_THROW(parse_job_state("{\"version\":1}"), Error);
  std::string text = job_state_text(sample_state());
  text.resize(text.size() / 2);  // a torn write
  EXPECT_THROW(parse_job_state(text), Error);
}

TEST(JobState, RefusesAnotherVersion) {
  auto j = nlohmann::json::parse(job_state_text(sample_state()));
  j["version"] = 99;
  try {
    parse_job_state(j.dump());
    FAIL() << "version 99 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("version 99"), std::string::npos) << e.what();
  }
}

TEST(JobState, RefusesASegmentFileThatPointsOutsideTheJobFolder) {
  for (const char* name : {"../../etc/passwd", "/etc/passwd", "..", ""}) {
    auto j = nlohmann::json::parse(job_state_text(sample_state()));
    j["finished"][0]["file"] = name;
    EXPECT_THROW(parse_job_state(j.dump()), Error) << name;
  }
}

TEST(JobState, RefusesAnInconsistentPlan) {
  auto gap = nlohmann::json::parse(job_state_text(sample_state()));
  gap["plan"][1]["start_frame"] = 60;  // frames 50..59 would be lost
  EXPECT_THROW(parse_job_state(gap.dump()), Error);
  auto short_plan = nlohmann::json::parse(job_state_text(sample_state()));
  short_plan["input"]["frames"] = 120;  // the plan covers 100
  EXPECT_THROW(parse_job_state(short_plan.dump()), Error);
  auto stray = nlohmann::json::parse(job_state_text(sample_state()));
  stray["finished"][0]["index"] = 7;
  EXPECT_THROW(parse_job_state(stray.dump()), Error);
}

TEST(JobState, ConflictsNameWhatChanged) {
  const JobState s = sample_state();
  EXPECT_TRUE(resume_conflicts(s, s.input, s.settings).empty());
  auto settings = s.settings;
  settings["crf"] = 20;
  settings["codec"] = "hevc";
  const auto why = resume_conflicts(s, s.input, settings);
  ASSERT_EQ(why.size(), 2u);
  EXPECT_EQ(why[0], "codec (unset) -> hevc");
  EXPECT_EQ(why[1], "crf 23 -> 20");
  InputFingerprint grown = s.input;
  grown.size = 2000;
  EXPECT_EQ(resume_conflicts(s, grown, s.settings).at(0), "the input changed: size 1000 -> 2000 bytes");
  InputFingerprint touched = s.input;
  touched.mtime_ns = 43;
  EXPECT_NE(resume_conflicts(s, touched, s.settings).at(0).find("modified"), std::string::npos);
  InputFingerprint edited = s.input;
  edited.sample_sha256 = std::string(64, 'c');
  EXPECT_NE(resume_conflicts(s, edited, s.settings).at(0).find("content"), std::string::npos);
}

class TempFolder {
 public:
  TempFolder() : path_(fs::temp_directory_path() / ("pvt-jobstate-" + std::to_string(getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempFolder() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(JobState, Sha256MatchesTheKnownVector) {
  TempFolder tmp;
  const fs::path f = tmp.path() / "abc";
  std::ofstream(f) << "abc";
  EXPECT_EQ(sha256_file(f.string()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(JobState, FingerprintSeesAnEditThatKeepsTheSize) {
  TempFolder tmp;
  const fs::path f = tmp.path() / "in.bin";
  std::ofstream(f) << std::string(3 << 20, 'x');
  const auto before = fingerprint_input(f.string(), 10);
  const auto mtime = fs::last_write_time(f);
  {
    std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp((3 << 20) - 5);
    io << 'y';  // in the last MiB
  }
  fs::last_write_time(f, mtime);  // as a copy preserving times would
  const auto after = fingerprint_input(f.string(), 10);
  EXPECT_EQ(before.size, after.size);
  EXPECT_EQ(before.mtime_ns, after.mtime_ns);
  EXPECT_NE(before.sample_sha256, after.sample_sha256);
}

TEST(JobDir, ASecondJobOnTheSameOutputIsRefused) {
  TempFolder tmp;
  const fs::path dir = JobDir::path_for(tmp.path(), "out.mp4");
  EXPECT_EQ(dir.filename(), ".out.mp4.pvt-job");
  JobDir first(dir, "out.mp4");
  try {
    JobDir second(dir, "out.mp4");
    FAIL() << "two jobs hold one output";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another pvt job (pid " + std::to_string(getpid()) + ")"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::exists(dir)) << "the refused job must not remove the running job's folder";
  const auto found = find_job_dirs(tmp.path());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(found[0].running);
  EXPECT_FALSE(found[0].state.has_value());
}

TEST(JobDir, SavedStateIsFoundAfterTheJobEnds) {
  TempFolder tmp;
  const fs::path dir = JobDir::path_for(tmp.path(), "out.mp4");
  JobState s = sample_state();
  {
    JobDir job(dir, "out.mp4");
    job.save(s);
    job.keep(true);
  }
  const auto found = find_job_dirs(tmp.path());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_FALSE(found[0].running);
  ASSERT_TRUE(found[0].state.has_value());
  EXPECT_EQ(found[0].state->finished.size(), 1u);
  JobDir again(dir, "out.mp4");
  std::string damaged;
  const auto loaded = again.load(&damaged);
  ASSERT_TRUE(loaded.has_value()) << damaged;
  EXPECT_EQ(*loaded, s);
}

TEST(JobDir, ADamagedStateIsReportedNotTrusted) {
  TempFolder tmp;
  const fs::path dir = JobDir::path_for(tmp.path(), "out.mp4");
  JobDir job(dir, "out.mp4");
  std::ofstream(job.state_path()) << "{\"version\": 1, \"job_";
  std::string damaged;
  EXPECT_FALSE(job.load(&damaged).has_value());
  EXPECT_FALSE(damaged.empty());
}

TEST(RateText, SizesAreBinary) {
  EXPECT_EQ(parse_size("4G"), std::int64_t{4} << 30);
  EXPECT_EQ(parse_size("512m"), std::int64_t{512} << 20);
  EXPECT_EQ(parse_size("1000"), 1000);
  EXPECT_FALSE(parse_size("-1G").has_value());
  EXPECT_FALSE(parse_size("4GB").has_value());
  EXPECT_FALSE(parse_size("").has_value());
}

}  // namespace
}  // namespace pvt
