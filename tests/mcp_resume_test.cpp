// pvt-mcp and job state on disk, in-process: the registry's shutdown keeps a job's state where a cancel
// discards it, interrupted jobs are found in the output directory (and only there), their settings turn
// back into transcode options, and the tools list, report, resume, refuse and discard them. The engine
// is the stand-in of mcp_test_support.hpp; the real kill-and-resume runs end to end in
// tests/mcp/resume.test.mjs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "disk_jobs.hpp"
#include "job_dir.hpp"
#include "job_settings.hpp"
#include "job_state.hpp"
#include "job_status_json.hpp"
#include "mcp_test_support.hpp"
#include "output_sandbox.hpp"
#include "server_config.hpp"
#include "test_support.hpp"
#include "tool.hpp"
#include "tools.hpp"

namespace pvt::mcp {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A state as the engine leaves it when interrupted: four 50-frame segments, `done` of them finished.
pvt::JobState interrupted_state(const std::string& output, const std::string& format, const std::string& id,
                                int done = 2) {
  pvt::JobState st;
  st.job_id = id;
  st.output = output;
  st.format = format;
  st.input.path = "/videos/in.mp4";
  st.input.frames = 200;
  st.settings = settings_json(TranscodeOptions{}, format);
  for (int i = 0; i < 4; ++i) {
    Segment seg;
    seg.index = i;
    seg.start_frame = i * 50;
    seg.end_frame = (i + 1) * 50;
    st.plan.push_back(seg);
  }
  for (int i = 0; i < done; ++i) {
    FinishedSegment f;
    f.index = i;
    f.file = "seg_0000" + std::to_string(i) + ".mp4";
    f.sha256 = "00";
    st.finished.push_back(f);
  }
  st.status = "interrupted";
  st.message = "interrupted";
  st.pid = 4242;
  return st;
}

void write_state(const fs::path& dir, const pvt::JobState& st) {
  fs::create_directories(dir);
  std::ofstream(dir / "job.json") << job_state_text(st);
}

// ---------------------------------------------------------------------------------------------------
// The registry: shutdown interrupts (state kept), cancel discards.

TEST(McpJobShutdown, ShutdownInterruptsRunningJobsWithoutTheirCancelFlag) {
  test::TempDir tmp;
  FakeEngine engine;
  engine.saved_dir = (tmp.path() / ".a.mp4.pvt-job").string();
  write_state(engine.saved_dir, interrupted_state("/o/a.mp4", "mp4", "77-88"));
  JobRegistry jobs(1, engine.runner(), nullptr, engine.interrupt());
  const auto a = jobs.submit({}, "/o/a.mp4", "mp4");
  const auto b = jobs.submit({}, "/o/b.mp4", "mp4");
  while (engine.started == 0) std::this_thread::sleep_for(5ms);
  jobs.shutdown();

  const auto sa = jobs.status(a.id);
  EXPECT_EQ(sa->state, JobState::kInterrupted);
  EXPECT_EQ(sa->resume_job_id, "resume-77-88");
  EXPECT_EQ(sa->segments_done, 2);
  EXPECT_EQ(sa->segments_total, 5);
  EXPECT_TRUE(engine.interrupted);
  ASSERT_NE(engine.last_options().cancel, nullptr);
  EXPECT_FALSE(engine.last_options().cancel->load()) << "the engine discards the state of a cancelled job";
  EXPECT_EQ(jobs.status(b.id)->state, JobState::kCancelled) << "a queued job has no state to keep";
  EXPECT_EQ(engine.started, 1);
  // A cancel arriving after the shutdown began (a wait:true call dropped by it) changes nothing.
  EXPECT_EQ(jobs.cancel(a.id, 1s)->state, JobState::kInterrupted);
  EXPECT_FALSE(engine.last_options().cancel->load());
  EXPECT_NE(status_sentence(*sa).find("resume_job_id \"resume-77-88\""), std::string::npos)
      << status_sentence(*sa);
}

TEST(McpJobShutdown, CancelSetsTheJobsOwnFlagAndLeavesNothingToResume) {
  FakeEngine engine;
  engine.saved_dir = "/nonexistent";  // would be reported if the engine kept anything
  JobRegistry jobs(1, engine.runner(), nullptr, engine.interrupt());
  const auto a = jobs.submit({}, "/o/a.mp4", "mp4");
  while (engine.started == 0) std::this_thread::sleep_for(5ms);
  const auto s = jobs.cancel(a.id, 5s);
  EXPECT_EQ(s->state, JobState::kCancelled);
  EXPECT_FALSE(s->resume_job_id);
  EXPECT_TRUE(engine.last_options().cancel->load());
  EXPECT_FALSE(engine.interrupted) << "one job's cancel must not stop the others";
}

TEST(McpJobShutdown, WithoutAnInterruptShutdownCancels) {
  FakeEngine engine;
  JobRegistry jobs(1, engine.runner(), nullptr);
  const auto a = jobs.submit({}, "/o/a.mp4", "mp4");
  while (engine.started == 0) std::this_thread::sleep_for(5ms);
  jobs.shutdown();
  EXPECT_EQ(jobs.status(a.id)->state, JobState::kCancelled);
}

// ---------------------------------------------------------------------------------------------------
// Finding interrupted jobs on disk.

TEST(McpDiskJobs, FindsInterruptedJobsUnderTheOutputDirAndWhereTheirOutputsGo) {
  test::TempDir tmp;
  const fs::path root = tmp.path() / "out";
  const fs::path outside = tmp.path() / "outside";
  fs::create_directories(root / "sub" / "deeper");
  fs::create_directories(outside);
  write_state(root / ".a.mp4.pvt-job", interrupted_state((root / "a.mp4").string(), "mp4", "1-1"));
  write_state(root / "sub" / ".b.m3u8.pvt-job",
              interrupted_state((root / "sub/b.m3u8").string(), "hls", "1-2"));
  write_state(root / ".clip.pvt-job", interrupted_state((root / "clip/index.m3u8").string(), "hls", "1-3"));
  write_state(root / "sub" / "deeper" / ".d.mp4.pvt-job",
              interrupted_state((root / "sub/deeper/d.mp4").string(), "mp4", "1-4"));
  // Left out: finished (kept by --keep-work), moved from elsewhere, pointing out of the sandbox, damaged,
  // no state, behind a symlink, inside a hidden folder, an id the model could not pass back.
  auto complete = interrupted_state((root / "done.mp4").string(), "mp4", "2-1");
  complete.status = "complete";
  write_state(root / ".done.mp4.pvt-job", complete);
  write_state(root / ".moved.mp4.pvt-job", interrupted_state((root / "other.mp4").string(), "mp4", "2-2"));
  write_state(root / ".evil.mp4.pvt-job", interrupted_state("/etc/evil.mp4", "mp4", "2-3"));
  fs::create_directories(root / ".bad.mp4.pvt-job");
  std::ofstream(root / ".bad.mp4.pvt-job" / "job.json") << "{not json";
  fs::create_directories(root / ".empty.mp4.pvt-job");
  write_state(outside / ".x.mp4.pvt-job", interrupted_state((outside / "x.mp4").string(), "mp4", "2-4"));
  fs::create_directory_symlink(outside, root / "link");
  fs::create_directory_symlink(outside / ".x.mp4.pvt-job", root / ".x.mp4.pvt-job");
  write_state(root / ".hidden" / ".h.mp4.pvt-job",
              interrupted_state((root / ".hidden/h.mp4").string(), "mp4", "2-5"));
  write_state(root / ".q.mp4.pvt-job", interrupted_state((root / "q.mp4").string(), "mp4", "a b\"c"));

  const auto jobs = find_disk_jobs(root);
  std::vector<std::string> ids, outputs;
  for (const auto& j : jobs) {
    ids.push_back(j.id);
    outputs.push_back(j.engine_output.string());
    EXPECT_FALSE(j.running);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"resume-1-1", "resume-1-3", "resume-1-2", "resume-1-4"}));
  EXPECT_EQ(outputs,
            (std::vector<std::string>{(root / "a.mp4").string(), (root / "clip").string(),
                                      (root / "sub/b.m3u8").string(), (root / "sub/deeper/d.mp4").string()}));
  EXPECT_TRUE(fs::exists(outside / ".x.mp4.pvt-job" / "job.json")) << "only read, never touched";
}

TEST(McpDiskJobs, EngineOutputLeadsBackToItsOwnFolder) {
  const auto mp4 = interrupted_state("/o/a.mp4", "mp4", "1");
  EXPECT_EQ(engine_output_for("/o/.a.mp4.pvt-job", mp4), fs::path("/o/a.mp4"));
  EXPECT_FALSE(engine_output_for("/o/sub/.a.mp4.pvt-job", mp4));
  EXPECT_FALSE(engine_output_for("/o/.b.mp4.pvt-job", mp4));
  const auto folder = interrupted_state("/o/clip/index.m3u8", "hls", "1");
  EXPECT_EQ(engine_output_for("/o/.clip.pvt-job", folder), fs::path("/o/clip"));
  // The same playlist as a .m3u8 output has its folder inside: it is another job.
  EXPECT_EQ(engine_output_for("/o/clip/.index.m3u8.pvt-job", folder), fs::path("/o/clip/index.m3u8"));
  EXPECT_FALSE(engine_output_for("/o/.clip.pvt-job", interrupted_state("/o/clip/index.m3u8", "mp4", "1")));
}

TEST(McpDiskJobs, StatusSaysWhatIsDoneAndHowToResume) {
  test::TempDir tmp;
  write_state(tmp.path() / ".a.mp4.pvt-job",
              interrupted_state((tmp.path() / "a.mp4").string(), "mp4", "5-6"));
  const auto jobs = find_disk_jobs(tmp.path());
  ASSERT_EQ(jobs.size(), 1u);
  const JobStatus s = disk_job_status(jobs[0]);
  EXPECT_EQ(s.id, "resume-5-6");
  EXPECT_EQ(s.state, JobState::kInterrupted);
  EXPECT_EQ(s.segments_done, 2);
  EXPECT_EQ(s.segments_total, 4);
  EXPECT_EQ(s.frames_done, 100);
  EXPECT_EQ(s.frames_total, 200);
  EXPECT_DOUBLE_EQ(s.percent, 47.5);
  EXPECT_EQ(s.resume_job_id, "resume-5-6");
  EXPECT_EQ(s.input, "/videos/in.mp4");
  ASSERT_TRUE(s.error);
  EXPECT_NE(s.error->find("pid 4242"), std::string::npos) << *s.error;
  const json j = status_json(s);
  EXPECT_EQ(j["state"], "interrupted");
  EXPECT_EQ(j["resume_job_id"], "resume-5-6");
  for (const auto& key : status_schema()["required"]) EXPECT_TRUE(j.contains(key)) << key;
}

TEST(McpDiskJobs, AFolderHeldByARunningJobIsRunningAndIsNotDiscarded) {
  test::TempDir tmp;
  const fs::path dir = tmp.path() / ".a.mp4.pvt-job";
  auto held = std::make_unique<JobDir>(dir, (tmp.path() / "a.mp4").string());
  auto st = interrupted_state((tmp.path() / "a.mp4").string(), "mp4", "9-9");
  held->save(st);
  held->keep(true);
  auto jobs = find_disk_jobs(tmp.path());
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_TRUE(jobs[0].running);
  EXPECT_FALSE(discard_disk_job(jobs[0]));
  EXPECT_TRUE(fs::exists(dir / "job.json"));
  held.reset();  // the job ends, its lock with it
  jobs = find_disk_jobs(tmp.path());
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_FALSE(jobs[0].running);
  EXPECT_TRUE(discard_disk_job(jobs[0]));
  EXPECT_FALSE(fs::exists(dir));
}

// ---------------------------------------------------------------------------------------------------
// Settings <-> options.

TEST(McpJobSettings, OptionsRoundTripThroughTheirSettings) {
  TranscodeOptions o;
  o.codec = "hevc";
  o.encoder = "x264";
  o.preset = "slow";
  o.bitrate = 2'500'000;
  o.segment_duration = 3.5;
  o.min_segment = 1;
  o.max_segment = 6;
  o.lookahead = 12;
  o.encoder_lookahead = 20;
  o.analysis = "full";
  o.scenes.threshold = 0.5;
  o.scenes.min_scene_frames = 7;
  o.audio = AudioMode::kNone;
  o.audio_bitrate = 96000;
  const json s = settings_json(o, "hls");
  EXPECT_TRUE(s["crf"].is_null()) << "bitrate mode has no crf";
  EXPECT_EQ(settings_json(options_from_settings(s), "hls"), s);
  EXPECT_EQ(options_from_settings(s).format, "hls");
  EXPECT_THROW(options_from_settings({{"crf", "high"}}), ToolError);
  EXPECT_THROW(options_from_settings({{"audio", "loud"}}), ToolError);
  EXPECT_THROW(options_from_settings(json::array()), ToolError);
}

// settings_json() mirrors the engine's list: a state the engine wrote must read back to itself.
TEST(McpJobSettings, MatchTheSettingsTheEngineRecords) {
  test::TempDir tmp;
  const auto r = test::run_pvt({"transcode", test::scene_clip(true), "-o", tmp / "out.mp4", "--crf", "31",
                                "--preset", "ultrafast", "--segment-duration", "2", "--min-scene-frames", "9",
                                "--audio", "aac", "--workers", "2", "--keep-work"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const pvt::JobState st = parse_job_state(read_file(tmp.path() / ".out.mp4.pvt-job" / "job.json"));
  ASSERT_FALSE(st.settings.empty());
  EXPECT_EQ(settings_json(options_from_settings(st.settings), st.format), st.settings);
  EXPECT_EQ(options_from_settings(st.settings).crf, 31);
  EXPECT_EQ(options_from_settings(st.settings).scenes.min_scene_frames, 9);
}

// ---------------------------------------------------------------------------------------------------
// The tools over jobs on disk.

class ResumeToolsTest : public ToolsFixture {
 protected:
  std::string clip;
  fs::path root, job_dir;
  std::string id = "resume-100-200";

  void SetUp() override {
    start_tools(/*with_interrupt=*/true);
    root = config.output_dir;
    clip = fs::canonical(test::scene_clip()).string();
    // What a server with this config left when it was stopped: transcode_video {input: clip, output:
    // "clip.mp4", crf: 30, preset: "fast", segment_duration: 2}.
    TranscodeOptions o = saved_options();
    auto st = interrupted_state((root / "clip.mp4").string(), "mp4", "100-200");
    st.input = fingerprint_input(clip, 200);
    st.settings = settings_json(o, "mp4");
    job_dir = root / ".clip.mp4.pvt-job";
    write_state(job_dir, st);
  }
  TranscodeOptions saved_options() const {
    TranscodeOptions o;
    o.crf = 30;
    o.preset = "fast";
    o.segment_duration = 2;
    o.encoder = config.encoder;
    o.lookahead = config.lookahead;
    return o;
  }
  json same_call(int crf) const {
    return {
        {"input", clip}, {"output", "clip.mp4"}, {"crf", crf}, {"preset", "fast"}, {"segment_duration", 2}};
  }
};

TEST_F(ResumeToolsTest, ListAndStatusReportTheInterruptedJob) {
  auto r = call("list_transcodes", json::object());
  ASSERT_EQ(r["structuredContent"]["jobs"].size(), 1u) << r;
  const json job = r["structuredContent"]["jobs"][0];
  EXPECT_EQ(job["job_id"], id);
  EXPECT_EQ(job["state"], "interrupted");
  EXPECT_EQ(job["resume_job_id"], id);
  EXPECT_EQ(job["segments_done"], 2);
  EXPECT_EQ(job["input"], clip);
  EXPECT_EQ(job["output"], (root / "clip.mp4").string());
  EXPECT_NE(text(r).find("resume_job_id"), std::string::npos) << text(r);
  r = call("get_transcode_status", {{"job_id", id}, {"wait_seconds", 1}});
  ASSERT_FALSE(r["isError"]) << r;
  EXPECT_EQ(r["structuredContent"]["state"], "interrupted");
  EXPECT_NE(text(r).find("resume_job_id \"" + id + "\""), std::string::npos) << text(r);
  EXPECT_TRUE(call("get_transcode_status", {{"job_id", "resume-1-2"}})["isError"]);
}

TEST_F(ResumeToolsTest, ResumeJobIdRebuildsTheJobFromItsState) {
  auto r = call("transcode_video", {{"resume_job_id", id}});
  ASSERT_FALSE(r["isError"]) << r;
  EXPECT_NE(text(r).find("resumes the interrupted job " + id), std::string::npos) << text(r);
  const TranscodeOptions o = engine.options_of(1);
  EXPECT_EQ(o.input, clip);
  EXPECT_EQ(o.output, (root / "clip.mp4").string());
  EXPECT_EQ(o.format, "mp4");
  EXPECT_EQ(o.crf, 30);
  EXPECT_EQ(o.preset, "fast");
  EXPECT_EQ(o.segment_duration, 2);
  EXPECT_TRUE(o.resume);
  EXPECT_FALSE(o.restart);
  // While it runs, the on-disk id answers with the job that resumes it, and is listed once.
  r = call("get_transcode_status", {{"job_id", id}});
  EXPECT_EQ(r["structuredContent"]["job_id"], "job-1");
  EXPECT_EQ(r["structuredContent"]["state"], "running");
  EXPECT_EQ(call("list_transcodes", json::object())["structuredContent"]["jobs"].size(), 1u);
  r = call("transcode_video", {{"resume_job_id", id}});
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("already resuming"), std::string::npos) << text(r);
}

TEST_F(ResumeToolsTest, ResumeJobIdTakesNoOtherSettingsAndOnlyKnownIds) {
  auto r = call("transcode_video", {{"resume_job_id", id}, {"crf", 20}});
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("crf"), std::string::npos) << text(r);
  EXPECT_TRUE(call("transcode_video", {{"resume_job_id", id}, {"input", clip}})["isError"]);
  EXPECT_TRUE(call("transcode_video", {{"resume_job_id", id}, {"restart", true}})["isError"]);
  r = call("transcode_video", {{"resume_job_id", "resume-404"}});
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("list_transcodes"), std::string::npos) << text(r);
  EXPECT_TRUE(call("transcode_video", {{"resume_job_id", "job-7"}})["isError"]);
  EXPECT_TRUE(call("transcode_video", {{"resume_job_id", "../../etc"}})["isError"]);
  r = call("transcode_video", json::object());
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("input"), std::string::npos) << text(r);
  EXPECT_EQ(engine.started, 0);
}

TEST_F(ResumeToolsTest, TheSameArgumentsResumeAndOtherSettingsAreRefusedNamingThem) {
  auto r = call("transcode_video", same_call(20));
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("crf 30 -> 20"), std::string::npos) << text(r);
  EXPECT_NE(text(r).find("restart: true"), std::string::npos) << text(r);
  EXPECT_NE(text(r).find(id), std::string::npos) << text(r);
  EXPECT_EQ(engine.started, 0);
  EXPECT_TRUE(fs::exists(job_dir / "job.json")) << "a refusal leaves the state alone";

  r = call("transcode_video", same_call(30));
  ASSERT_FALSE(r["isError"]) << r;
  EXPECT_NE(text(r).find("resumes the interrupted job " + id), std::string::npos) << text(r);
  EXPECT_FALSE(engine.options_of(1).resume);
  EXPECT_FALSE(engine.options_of(1).restart);
  EXPECT_EQ(call("get_transcode_status", {{"job_id", id}})["structuredContent"]["job_id"], "job-1");
}

TEST_F(ResumeToolsTest, RestartDiscardsAndExistingOutputsStillNeedOverwrite) {
  json args = same_call(20);
  args["restart"] = true;
  std::ofstream(root / "clip.mp4") << "an older output";
  auto r = call("transcode_video", args);
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("overwrite"), std::string::npos) << text(r);
  EXPECT_TRUE(call("transcode_video", {{"resume_job_id", id}})["isError"]) << "resuming would replace it too";
  args["overwrite"] = true;
  r = call("transcode_video", args);
  ASSERT_FALSE(r["isError"]) << r;
  EXPECT_NE(text(r).find("discarded"), std::string::npos) << text(r);
  EXPECT_TRUE(engine.options_of(1).restart);
  EXPECT_TRUE(engine.options_of(1).overwrite);
  EXPECT_EQ(engine.options_of(1).crf, 20);
}

TEST_F(ResumeToolsTest, CancelDiscardsAnInterruptedJob) {
  auto r = call("cancel_transcode", {{"job_id", id}});
  ASSERT_FALSE(r["isError"]) << r;
  EXPECT_EQ(r["structuredContent"]["state"], "cancelled");
  EXPECT_TRUE(r["structuredContent"]["resume_job_id"].is_null());
  EXPECT_FALSE(fs::exists(job_dir));
  EXPECT_TRUE(call("get_transcode_status", {{"job_id", id}})["isError"]);
  EXPECT_TRUE(call("transcode_video", {{"resume_job_id", id}})["isError"]);
  EXPECT_TRUE(call("list_transcodes", json::object())["structuredContent"]["jobs"].empty());
}

TEST_F(ResumeToolsTest, ResumeRechecksTheSandboxAndTheInput) {
  // A symlink now stands where the output goes, leading out of the output directory.
  const fs::path outside = tmp.path() / "outside";
  fs::create_directories(outside);
  fs::create_symlink(outside / "clip.mp4", root / "clip.mp4");
  auto r = call("transcode_video", {{"resume_job_id", id}});
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("Cannot resume"), std::string::npos) << text(r);
  EXPECT_TRUE(fs::is_empty(outside));
  fs::remove(root / "clip.mp4");

  // The input changed since: the engine would refuse, so the tool does, naming it.
  auto st = parse_job_state(read_file(job_dir / "job.json"));
  st.input.size += 1;
  write_state(job_dir, st);
  r = call("transcode_video", {{"resume_job_id", id}});
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("the input changed"), std::string::npos) << text(r);
  EXPECT_EQ(engine.started, 0);
}

TEST_F(ResumeToolsTest, AJobThatFailedWithItsStateKeptIsResumedByEitherId) {
  // The registry's job for this output stopped with its state kept (the stand-in reports it as on an
  // interrupt; a failure with finished segments reports the same): it carries the on-disk id, which is
  // then not listed twice, and its own id works as resume_job_id too.
  engine.saved_dir = job_dir.string();
  std::filesystem::remove_all(job_dir);  // the engine had not written its state yet when the job started
  auto r = call("transcode_video", same_call(30));
  ASSERT_FALSE(r["isError"]) << r;
  TranscodeOptions saved = saved_options();
  auto st = interrupted_state((root / "clip.mp4").string(), "mp4", "100-200");
  st.input = fingerprint_input(clip, 200);
  st.settings = settings_json(saved, "mp4");
  write_state(job_dir, st);
  engine.interrupted = true;  // stands for a failure that keeps the state (the fake throws "interrupted")
  const auto done = jobs->wait("job-1", std::chrono::steady_clock::now() + 10s, nullptr);
  engine.interrupted = false;
  ASSERT_EQ(done->resume_job_id, id);
  const auto listed = call("list_transcodes", json::object())["structuredContent"]["jobs"];
  ASSERT_EQ(listed.size(), 1u) << listed;
  EXPECT_EQ(listed[0]["job_id"], "job-1");
  EXPECT_EQ(listed[0]["resume_job_id"], id);
  r = call("transcode_video", {{"resume_job_id", "job-1"}});
  ASSERT_FALSE(r["isError"]) << r;
  EXPECT_TRUE(engine.options_of(2).resume);
  EXPECT_EQ(engine.options_of(2).crf, 30);
}

}  // namespace
}  // namespace pvt::mcp
