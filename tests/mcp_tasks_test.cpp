// MCP tasks, resources and transcode_video's parity with `pvt transcode`, in-process with the engine
// stand-in. tests/mcp/tasks.test.mjs drives the same through the official SDK client against the binary.
#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "capabilities.hpp"
#include "mcp_test_support.hpp"
#include "transcode_arguments.hpp"

extern "C" {
#include <libavutil/base64.h>
}

namespace pvt::mcp {
namespace {

class McpTasksTest : public ToolsFixture {
 protected:
  void SetUp() override { start_tools(/*with_interrupt=*/false, "2025-11-25"); }

  json task_call(const json& id, const std::string& tool, json args) {
    return h->request(id, "tools/call",
                      {{"name", tool}, {"arguments", std::move(args)}, {"task", json::object()}});
  }
  // The notifications/tasks/status messages seen so far for a task.
  std::vector<json> status_notes(const std::string& task_id) {
    std::vector<json> out;
    for (const auto& l : h->lines())
      if (l.value("method", "") == "notifications/tasks/status" && l["params"]["taskId"] == task_id)
        out.push_back(l["params"]);
    return out;
  }
};

TEST_F(McpTasksTest, DeclaresTasksAndWhichToolsTakeThem) {
  const auto init = h->request(1, "initialize",
                               {{"protocolVersion", "2025-11-25"},
                                {"capabilities", json::object()},
                                {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  const auto caps = init["result"]["capabilities"];
  EXPECT_TRUE(caps["tasks"]["list"].is_object()) << caps;
  EXPECT_TRUE(caps["tasks"]["cancel"].is_object());
  EXPECT_TRUE(caps["tasks"]["requests"]["tools"]["call"].is_object());
  EXPECT_TRUE(caps["resources"].is_object());
  std::map<std::string, std::string> support;
  const auto listed = h->request(2, "tools/list");
  for (const auto& t : listed["result"]["tools"]) support[t["name"]] = t["execution"]["taskSupport"];
  ASSERT_EQ(support.size(), 6u) << listed;
  EXPECT_EQ(support["transcode_video"], "optional");
  EXPECT_EQ(support["analyze_video"], "optional");
  EXPECT_EQ(support["get_transcode_status"], "forbidden");
  // A tool that forbids tasks refuses one.
  const auto r = task_call(3, "get_capabilities", json::object());
  EXPECT_EQ(error_code(r), rpc::kMethodNotFound) << r;
}

TEST_F(McpTasksTest, TranscodeTaskIsTheJobFollowedToItsResult) {
  const std::string clip = test::scene_clip();
  const auto created = task_call(10, "transcode_video", {{"input", clip}, {"format", "mp4"}});
  ASSERT_TRUE(created.contains("result")) << created;
  const auto task = created["result"]["task"];
  EXPECT_EQ(task["taskId"], "job-1");  // the job's own id
  EXPECT_EQ(task["status"], "working");
  EXPECT_TRUE(task["createdAt"].is_string());
  EXPECT_TRUE(task["ttl"].is_null());

  auto got = h->request(11, "tasks/get", {{"taskId", "job-1"}})["result"];
  EXPECT_EQ(got["status"], "working");
  // get_transcode_status knows it too: a task is a job.
  EXPECT_EQ(call("get_transcode_status", {{"job_id", "job-1"}})["structuredContent"]["state"], "running");

  h->send({{"jsonrpc", "2.0"}, {"id", 12}, {"method", "tasks/result"}, {"params", {{"taskId", "job-1"}}}});
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(h->reply(12, 10ms).is_null()) << "tasks/result waits for the end";
  engine.release = true;
  const auto result = h->reply(12, 10s)["result"];
  ASSERT_FALSE(result.is_null());
  EXPECT_FALSE(result["isError"]) << result;
  EXPECT_EQ(result["structuredContent"]["state"], "succeeded");
  EXPECT_EQ(result["_meta"]["io.modelcontextprotocol/related-task"]["taskId"], "job-1");

  got = h->request(13, "tasks/get", {{"taskId", "job-1"}})["result"];
  EXPECT_EQ(got["status"], "completed");
  const auto notes = status_notes("job-1");
  ASSERT_FALSE(notes.empty());
  EXPECT_EQ(notes.back()["status"], "completed");
  // A finished task cannot be cancelled.
  EXPECT_EQ(error_code(h->request(14, "tasks/cancel", {{"taskId", "job-1"}})), rpc::kInvalidParams);
  EXPECT_EQ(error_code(h->request(15, "tasks/get", {{"taskId", "job-99"}})), rpc::kInvalidParams);
}

TEST_F(McpTasksTest, CancelStopsTheJobAndListShowsEveryTask) {
  const std::string clip = test::scene_clip();
  ASSERT_TRUE(task_call(20, "transcode_video", {{"input", clip}, {"format", "mp4"}}).contains("result"));
  engine.options_of(1);
  const auto cancelled = h->request(21, "tasks/cancel", {{"taskId", "job-1"}})["result"];
  EXPECT_EQ(cancelled["status"], "cancelled") << cancelled;
  EXPECT_EQ(call("get_transcode_status", {{"job_id", "job-1"}})["structuredContent"]["state"], "cancelled");

  // A job cancelled through cancel_transcode ends its task as cancelled too (not failed).
  ASSERT_TRUE(task_call(25, "transcode_video", {{"input", clip}, {"format", "mp4"}, {"output", "two.mp4"}})
                  .contains("result"));
  engine.options_of(2);
  EXPECT_EQ(call("cancel_transcode", {{"job_id", "job-2"}})["structuredContent"]["state"], "cancelled");
  const auto second = h->request(26, "tasks/result", {{"taskId", "job-2"}})["result"];
  EXPECT_EQ(second["structuredContent"]["state"], "cancelled");
  EXPECT_EQ(h->request(27, "tasks/get", {{"taskId", "job-2"}})["result"]["status"], "cancelled");

  // A task whose arguments are wrong is created and fails at once, with the tool's error as its result.
  const auto bad = task_call(22, "transcode_video", {{"input", clip}, {"codec", "vp8"}});
  const std::string bad_id = bad["result"]["task"]["taskId"];
  EXPECT_EQ(bad_id.rfind("task-", 0), 0u) << bad;
  const auto result = h->request(23, "tasks/result", {{"taskId", bad_id}})["result"];
  EXPECT_TRUE(result["isError"]);
  EXPECT_NE(result["content"][0]["text"].get<std::string>().find("codec"), std::string::npos);

  const auto list = h->request(24, "tasks/list")["result"]["tasks"];
  std::map<std::string, std::string> status;
  for (const auto& t : list) status[t["taskId"]] = t["status"];
  EXPECT_EQ(status["job-1"], "cancelled");
  EXPECT_EQ(status[bad_id], "failed");
}

TEST_F(McpTasksTest, AnOlderClientSeesNoTasks) {
  Harness old(make_pvt_tools(*env), LogLevel::kInfo, tasks.get(), resources.get());
  old.initialize("2025-06-18");
  const auto init = old.request(1, "initialize",
                                {{"protocolVersion", "2025-06-18"},
                                 {"capabilities", json::object()},
                                 {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  EXPECT_FALSE(init["result"]["capabilities"].contains("tasks"));
  for (const auto& t : old.request(2, "tools/list")["result"]["tools"]) EXPECT_FALSE(t.contains("execution"));
  EXPECT_EQ(error_code(old.request(3, "tasks/list")), rpc::kMethodNotFound);
  // `task` is ignored: an ordinary answer with the job id.
  const auto r = old.request(4, "tools/call",
                             {{"name", "transcode_video"},
                              {"arguments", {{"input", test::scene_clip()}}},
                              {"task", json::object()}});
  EXPECT_EQ(r["result"]["structuredContent"]["state"], "running") << r;
  engine.release = true;
}

TEST_F(McpTasksTest, SucceededJobsAreResourcesAndNothingOutsideIsRead) {
  const std::string clip = test::scene_clip();
  const auto r = call("transcode_video", {{"input", clip}, {"format", "mp4"}});
  ASSERT_FALSE(r["isError"]) << r;
  std::ofstream(config.output_dir + "/scenes.mp4") << "stand-in output";  // the fake engine writes none
  engine.release = true;
  call("get_transcode_status", {{"job_id", "job-1"}, {"wait_seconds", 10}});

  std::set<std::string> uris;
  const auto listed = h->request(30, "resources/list");
  for (const auto& res : listed["result"]["resources"]) uris.insert(res["uri"]);
  ASSERT_FALSE(uris.empty()) << listed;
  EXPECT_TRUE(uris.count("pvt://jobs/job-1/summary"));
  EXPECT_TRUE(uris.count("pvt://jobs/job-1/timeline"));
  EXPECT_TRUE(uris.count("pvt://jobs/job-1/timeline.png"));
  EXPECT_TRUE(uris.count("file://" + config.output_dir + "/scenes.mp4"));
  const auto templates = h->request(31, "resources/templates/list")["result"]["resourceTemplates"];
  EXPECT_EQ(templates.size(), 3u);

  auto read = h->request(32, "resources/read", {{"uri", "pvt://jobs/job-1/summary"}})["result"];
  EXPECT_EQ(json::parse(read["contents"][0]["text"].get<std::string>())["frames"], 100);
  read = h->request(33, "resources/read", {{"uri", "pvt://jobs/job-1/timeline"}})["result"];
  EXPECT_NE(read["contents"][0]["text"].get<std::string>().find("<svg"), std::string::npos);
  read = h->request(34, "resources/read", {{"uri", "pvt://jobs/job-1/timeline.png"}})["result"];
  const std::string blob = read["contents"][0]["blob"];
  std::vector<std::uint8_t> png(blob.size());
  ASSERT_GT(av_base64_decode(png.data(), blob.c_str(), static_cast<int>(png.size())), 8);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(png.data()) + 1, 3), "PNG");
  read = h->request(35, "resources/read", {{"uri", "file://" + config.output_dir + "/scenes.mp4"}})["result"];
  EXPECT_FALSE(read["contents"][0]["blob"].get<std::string>().empty());

  EXPECT_EQ(error_code(h->request(36, "resources/read", {{"uri", "file:///etc/passwd"}})), kResourceNotFound);
  EXPECT_EQ(error_code(h->request(37, "resources/read", {{"uri", "file://" + config.output_dir + "/../x"}})),
            kResourceNotFound);
  EXPECT_EQ(error_code(h->request(38, "resources/read", {{"uri", "pvt://jobs/job-7/summary"}})),
            kResourceNotFound);
  EXPECT_EQ(error_code(h->request(39, "resources/read", {{"uri", "http://example.com/"}})),
            rpc::kInvalidParams);

  const auto status = call("get_transcode_status", {{"job_id", "job-1"}, {"timeline_image", true}});
  EXPECT_EQ(status["content"].back()["type"], "image");
  EXPECT_EQ(status["content"].back()["mimeType"], "image/png");
}

// ---------------------------------------------------------------------------------------------------
// Parity: every `pvt transcode` option is a transcode_video argument or documented as CLI-only.

std::string snake(std::string option) {
  option.erase(0, 2);
  std::replace(option.begin(), option.end(), '-', '_');
  return option;
}

TEST_F(McpTasksTest, EveryCliOptionIsAnArgumentOrListedAsCliOnly) {
  const auto help = test::run_pvt({"transcode", "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  // Each option's own line: "  --crf FLOAT ..." or "  -o,--output TEXT ...".
  std::set<std::string> cli;
  const std::regex option(R"(^\s+(-[a-z],)?(--[a-z][a-z0-9-]+))");
  std::istringstream lines(help.out);
  for (std::string line; std::getline(lines, line);)
    if (std::smatch m; std::regex_search(line, m, option)) cli.insert(m[2]);
  cli.erase("--help");
  ASSERT_GT(cli.size(), 30u) << help.out;

  json properties;
  const auto listed = h->request(40, "tools/list");
  for (const auto& t : listed["result"]["tools"])
    if (t["name"] == "transcode_video") properties = t["inputSchema"]["properties"];
  ASSERT_TRUE(properties.is_object()) << listed;
  std::set<std::string> cli_only;
  for (const auto& c : kCliOnlyTranscodeOptions) cli_only.insert(c.option);
  for (const auto& o : cli)
    EXPECT_TRUE(properties.contains(snake(o)) || cli_only.count(o))
        << o << " has no transcode_video argument (" << snake(o)
        << ") and is not in kCliOnlyTranscodeOptions";
  for (const auto& o : cli_only)
    EXPECT_TRUE(cli.count(o)) << o << " is listed as CLI-only but pvt has no such option";
}

TEST_F(McpTasksTest, NewArgumentsReachTheEngineAndBadValuesAreToolErrors) {
  const std::string clip = test::scene_clip();
  auto r = call("transcode_video", {{"input", clip},
                                    {"format", "mkv"},
                                    {"codec", "hevc"},
                                    {"encoder", "x265"},
                                    {"crf", 26.5},
                                    {"preset", "veryfast"},
                                    {"min_segment", 2},
                                    {"max_segment", 8},
                                    {"analysis_backend", "cpu"},
                                    {"audio", "aac"},
                                    {"audio_bitrate", "96k"},
                                    {"audio_tracks", "eng,fra"},
                                    {"subtitles", "none"},
                                    {"streams", {1, 2}},
                                    {"bit_depth", 10},
                                    {"tonemap", "mobius"},
                                    {"preroll", 0},
                                    {"scene_threshold", 0.5},
                                    {"threads_per_worker", 2}});
  ASSERT_FALSE(r["isError"]) << r;
  const auto o = engine.options_of(1);
  EXPECT_EQ(o.format, "mkv");
  EXPECT_EQ(o.codec, "hevc");
  EXPECT_EQ(o.encoder, "x265");
  EXPECT_DOUBLE_EQ(o.crf, 26.5);
  EXPECT_DOUBLE_EQ(o.max_segment, 8);
  EXPECT_EQ(o.analysis_backend, "cpu");
  EXPECT_EQ(o.audio, AudioMode::kAac);
  EXPECT_EQ(o.audio_bitrate, 96000);
  EXPECT_EQ(o.audio_tracks, "eng,fra");
  EXPECT_EQ(o.subtitles, "none");
  EXPECT_EQ(o.streams, (std::vector<int>{1, 2}));
  EXPECT_EQ(o.bit_depth, 10);
  EXPECT_EQ(o.tonemap, "mobius");
  EXPECT_EQ(o.preroll, 0);
  EXPECT_EQ(o.threads_per_worker, 2);
  EXPECT_EQ(o.output, config.output_dir + "/scenes.mkv");
  engine.release = true;

  // An AV1/VP9 encoder implies its codec; WebM without a codec is VP9, and WebM with H.264 is refused.
  r = call("transcode_video",
           {{"input", clip}, {"format", "mp4"}, {"output", "a.mp4"}, {"encoder", "svtav1"}});
  ASSERT_FALSE(r["isError"]) << r;
  EXPECT_EQ(engine.options_of(2).codec, "av1");
  r = call("transcode_video", {{"input", clip}, {"output", "w.webm"}});
  ASSERT_FALSE(r["isError"]) << r;
  EXPECT_EQ(engine.options_of(3).codec, "vp9");
  EXPECT_EQ(engine.options_of(3).format, "webm");

  for (const json& bad : std::vector<json>{{{"codec", "vp8"}},
                                           {{"encoder", "nvenc"}},
                                           {{"bit_depth", 9}},
                                           {{"streams", {"a"}}},
                                           {{"crf_range", {30, 20}}, {"target_quality", 0.98}},
                                           {{"crf_range", {20, 30}}},
                                           {{"executor", "k8s"}},
                                           {{"audio_tracks", "English!"}},
                                           {{"min_segment", 9}, {"max_segment", 3}},
                                           {{"codec", "h264"}, {"encoder", "vpx"}},
                                           {{"codec", "h264"}, {"format", "webm"}},
                                           {{"segment_duration", 0.01}},
                                           {{"crf", 60}}}) {
    json args = bad;
    args["input"] = clip;
    args["output"] = "bad.mp4";
    r = call("transcode_video", args);
    EXPECT_TRUE(r["isError"]) << bad << " -> " << r;
  }
}

TEST(McpEncoderChoice, AServerEncoderThisMachineLacksIsAClearToolError) {
  const auto caps = probe_capabilities();
  for (const auto& e : caps.encoders)
    if (e.name == "nvenc" && e.available)
      GTEST_SKIP() << "this machine has NVENC, so nvenc is not refused here";
  test::TempDir tmp;
  ServerConfig config;
  config.output_dir = (tmp.path() / "out").string();
  config.encoder = "nvenc";
  prepare_output_dir(config);
  FakeEngine engine;
  Logger logger{LogLevel::kError};
  JobRegistry jobs(1, engine.runner(), &logger);
  OutputSandbox sandbox(config.output_dir);
  ToolEnv env{config, sandbox, jobs, logger};
  Harness h(make_pvt_tools(env));
  h.initialize();
  const auto r =
      h.request(1, "tools/call",
                {{"name", "transcode_video"}, {"arguments", {{"input", test::scene_clip()}}}})["result"];
  ASSERT_TRUE(r["isError"]) << r;
  const std::string text = r["content"][0]["text"];
  EXPECT_NE(text.find("'nvenc' is not available on this machine"), std::string::npos) << text;
  EXPECT_EQ(engine.started, 0);
  // The schema offers only what the probe opened (and the server's own choice, so its default is valid).
  const auto tools = h.request(2, "tools/list")["result"]["tools"];
  for (const auto& t : tools)
    if (t["name"] == "transcode_video")
      EXPECT_EQ(t["inputSchema"]["properties"]["encoder"]["default"], "nvenc");
}

}  // namespace
}  // namespace pvt::mcp
