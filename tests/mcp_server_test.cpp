// pvt-mcp: the protocol layer, the session, the sandbox, the settings and the job registry driven
// in-process (strings in, lines out), plus a few checks of the real binary. End-to-end MCP behaviour with
// a real client lives in tests/mcp/ (Node SDK).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "analysis_cache.hpp"
#include "error.hpp"
#include "job_registry.hpp"
#include "job_settings.hpp"
#include "json_rpc.hpp"
#include "mcp_session.hpp"
#include "mcp_test_support.hpp"
#include "output_sandbox.hpp"
#include "server_config.hpp"
#include "test_support.hpp"
#include "tool_args.hpp"
#include "tools.hpp"

extern char** environ;

namespace pvt::mcp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------------
// JSON-RPC framing and error codes.

TEST(McpJsonRpc, MalformedJsonIsAParseErrorWithNullId) {
  Harness h;
  h.raw(R"({"jsonrpc":"2.0","id":1,"method":"ping")");
  h.raw("not json at all");
  const auto lines = h.lines();
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& l : lines) {
    EXPECT_EQ(l["jsonrpc"], "2.0");
    EXPECT_TRUE(l["id"].is_null());
    EXPECT_EQ(error_code(l), rpc::kParseError);
  }
}

TEST(McpJsonRpc, ANumberBeyondDoubleIsAParseErrorNotAnAbort) {
  // Found by fuzz_mcp_json_rpc: nlohmann throws out_of_range (not parse_error) for 1e400.
  Harness h;
  h.raw(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":1e400}})");
  const auto lines = h.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0]["id"].is_null());
  EXPECT_EQ(error_code(lines[0]), rpc::kParseError);
  EXPECT_EQ(h.request(2, "ping")["result"], json::object());
}

TEST(McpJsonRpc, DeepNestingIsRefusedBeforeParsing) {
  Harness h;
  h.raw(std::string(100000, '[') + std::string(100000, ']'));
  // Brackets inside strings do not count; 64 levels are fine.
  std::string ok = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"s":"[[[[{{{{","d":)";
  for (int i = 0; i < 62; ++i) ok += "[";
  for (int i = 0; i < 62; ++i) ok += "]";
  h.raw(ok + "}}");
  const auto lines = h.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(error_code(lines[0]), rpc::kParseError);
  EXPECT_NE(lines[0]["error"]["message"].get<std::string>().find("nested deeper than 64"), std::string::npos);
  EXPECT_EQ(lines[1]["id"], 1);
  EXPECT_EQ(lines[1]["result"], json::object());
}

TEST(McpJsonRpc, MessagesOverOneMiBAreDroppedUnreadAndLongNamesAreNotEchoed) {
  rpc::LineSplitter s;  // the server's limit
  std::vector<std::pair<std::size_t, bool>> got;
  auto on = [&](std::string_view l, bool too_long) { got.emplace_back(l.size(), too_long); };
  const std::string at_limit(rpc::kMaxMessageBytes, 'a');
  // Fed in uneven chunks, as reads deliver them.
  const std::string stream = at_limit + "\n" + at_limit + "b\nok\n";
  for (std::size_t i = 0; i < stream.size(); i += 65521)
    s.feed(std::string_view(stream).substr(i, 65521), on);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(rpc::kMaxMessageBytes, false));
  EXPECT_TRUE(got[1].second);
  EXPECT_EQ(got[2], std::make_pair(std::size_t{2}, false));

  Harness h;
  const std::string long_name(100000, 'm');
  const json r = h.request(1, long_name);
  EXPECT_EQ(error_code(r), rpc::kMethodNotFound);
  EXPECT_LT(r.dump().size(), 400u) << "the method name is echoed whole";
  EXPECT_NE(r["error"]["message"].get<std::string>().find("(100000 bytes)"), std::string::npos);
  const json t = h.request(2, "tools/call", {{"name", long_name}});
  EXPECT_LT(t.dump().size(), 400u);
  // A broken message whose token is long: the parser's "last read" is cut too.
  h.raw(R"({"jsonrpc":"2.0","id":3,"method":")" + std::string(200000, 'x'));
  EXPECT_LT(h.lines().back().dump().size(), 600u);
}

TEST(McpJsonRpc, InvalidRequestsAreAnsweredWithMinus32600) {
  Harness h;
  h.raw("[]");                                              // batching is not supported
  h.raw("42");                                              // not an object
  h.raw(R"({"jsonrpc":"1.0","id":7,"method":"ping"})");     // wrong version: the id is kept
  h.raw(R"({"id":8,"method":"ping"})");                     // no jsonrpc member
  h.raw(R"({"jsonrpc":"2.0","id":9})");                     // no method
  h.raw(R"({"jsonrpc":"2.0","id":10,"method":5})");         // method not a string
  h.raw(R"({"jsonrpc":"2.0","id":null,"method":"ping"})");  // MCP ids are never null
  h.raw(R"({"jsonrpc":"2.0","id":11,"method":"ping","params":"x"})");
  const auto lines = h.lines();
  ASSERT_EQ(lines.size(), 8u);
  for (const auto& l : lines) EXPECT_EQ(error_code(l), rpc::kInvalidRequest) << l;
  EXPECT_TRUE(lines[0]["id"].is_null());
  EXPECT_EQ(lines[2]["id"], 7);
  EXPECT_EQ(lines[3]["id"], 8);
  EXPECT_EQ(lines[5]["id"], 10);
  EXPECT_TRUE(lines[6]["id"].is_null());
}

TEST(McpJsonRpc, UnknownMethodIsMinus32601AndArrayParamsMinus32602) {
  Harness h;
  EXPECT_EQ(error_code(h.request("a", "resources/list")), rpc::kMethodNotFound);
  h.raw(R"({"jsonrpc":"2.0","id":"b","method":"ping","params":[1]})");
  EXPECT_EQ(error_code(h.reply("b")), rpc::kInvalidParams);
}

TEST(McpJsonRpc, NotificationsAndResponsesAreNeverAnswered) {
  Harness h;
  h.raw(R"({"jsonrpc":"2.0","method":"notifications/unknown"})");
  h.raw(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}})");
  h.raw(R"({"jsonrpc":"2.0","id":5,"result":{}})");
  h.raw(R"({"jsonrpc":"2.0","method":"notifications/initialized","params":"odd"})");
  h.raw("   ");
  EXPECT_TRUE(h.lines().empty());
}

TEST(McpJsonRpc, ServerSurvivesEveryBadLineAndStillAnswers) {
  Harness h;
  for (const char* bad :
       {"{", "}", "null", "\"str\"", "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", "\xff\xfe"})
    h.raw(bad);
  EXPECT_EQ(h.request(1, "ping")["result"], json::object());
}

TEST(McpJsonRpc, LineSplitterHandlesCrLfPartialReadsAndOversizedLines) {
  rpc::LineSplitter s(16);
  std::vector<std::pair<std::string, bool>> got;
  auto on = [&](std::string_view l, bool too_long) { got.emplace_back(std::string(l), too_long); };
  s.feed("ab", on);
  s.feed("c\r\nde", on);
  s.feed("f\n0123456789abcdefXYZ\nok", on);
  s.finish(on);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], std::make_pair(std::string("abc"), false));
  EXPECT_EQ(got[1], std::make_pair(std::string("def"), false));
  EXPECT_TRUE(got[2].second);
  EXPECT_EQ(got[3], std::make_pair(std::string("ok"), false));
}

// ---------------------------------------------------------------------------------------------------
// Lifecycle.

TEST(McpSessionLifecycle, AnswersTheClientsVersionWhenSupported) {
  for (const char* v : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
    Harness h;
    const auto r = h.request(1, "initialize", {{"protocolVersion", v}, {"capabilities", json::object()}});
    EXPECT_EQ(r["result"]["protocolVersion"], v);
    EXPECT_EQ(h.session().protocol_version(), v);
  }
}

TEST(McpSessionLifecycle, AnswersItsLatestVersionOtherwise) {
  Harness h;
  const auto r =
      h.request(1, "initialize", {{"protocolVersion", "2024-11-05"}, {"capabilities", json::object()}});
  EXPECT_EQ(r["result"]["protocolVersion"], "2025-11-25");
  EXPECT_EQ(negotiate_protocol_version("1999-01-01"), "2025-11-25");
  EXPECT_EQ(negotiate_protocol_version(42), "2025-11-25");
}

TEST(McpSessionLifecycle, InitializeResultDescribesTheServer) {
  Harness h;
  const auto r = h.request(1, "initialize", {{"protocolVersion", "2025-06-18"}})["result"];
  EXPECT_EQ(r["serverInfo"]["name"], "pvt");
  EXPECT_EQ(r["serverInfo"]["version"], "0.1.0");
  EXPECT_EQ(r["capabilities"]["tools"]["listChanged"], false);
  EXPECT_TRUE(r["capabilities"]["logging"].is_object());
  EXPECT_EQ(r["instructions"], "test instructions");
}

TEST(McpSessionLifecycle, InitializeWithoutAVersionIsInvalidParams) {
  Harness h;
  EXPECT_EQ(error_code(h.request(1, "initialize", json::object())), rpc::kInvalidParams);
  EXPECT_EQ(error_code(h.request(2, "initialize", {{"protocolVersion", 3}})), rpc::kInvalidParams);
}

TEST(McpSessionLifecycle, PingAndSetLevel) {
  Harness h;
  EXPECT_EQ(h.request(1, "ping")["result"], json::object());
  EXPECT_EQ(h.request(2, "logging/setLevel", {{"level", "warning"}})["result"], json::object());
  EXPECT_EQ(error_code(h.request(3, "logging/setLevel", {{"level", "loud"}})), rpc::kInvalidParams);
  EXPECT_EQ(error_code(h.request(4, "logging/setLevel")), rpc::kInvalidParams);
}

TEST(McpSessionLifecycle, LogNotificationsFollowTheClientsLevel) {
  Harness h;
  h.session().log(LogLevel::kError, "before initialize");  // nothing may precede the initialize reply
  EXPECT_TRUE(h.lines().empty());
  h.initialize();
  h.clear();
  h.session().log(LogLevel::kDebug, "hidden");
  h.session().log(LogLevel::kInfo, "shown");
  h.request(1, "logging/setLevel", {{"level", "error"}});
  h.session().log(LogLevel::kWarning, "hidden too");
  h.session().log(LogLevel::kError, "shown too");
  std::vector<json> messages;
  for (const auto& l : h.lines())
    if (l.value("method", "") == "notifications/message") messages.push_back(l["params"]);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], json({{"level", "info"}, {"logger", "pvt"}, {"data", "shown"}}));
  EXPECT_EQ(messages[1]["data"], "shown too");
}

// ---------------------------------------------------------------------------------------------------
// tools/list and tools/call with stand-in tools.

Tool make_tool(const std::string& name, std::function<json(const json&, RequestContext&)> fn) {
  Tool t;
  t.name = name;
  t.definition = {{"name", name}, {"inputSchema", {{"type", "object"}}}};
  t.handler = std::move(fn);
  return t;
}

std::vector<Tool> stand_in_tools(std::atomic<bool>& slow_was_cancelled) {
  std::vector<Tool> tools;
  tools.push_back(make_tool("echo", [](const json& a, RequestContext&) { return tool_result("echo", a); }));
  tools.push_back(make_tool("slow", [&slow_was_cancelled](const json&, RequestContext& r) {
    for (int i = 0; i < 500 && !r.cancelled(); ++i) std::this_thread::sleep_for(10ms);
    slow_was_cancelled = r.cancelled();
    return tool_result("slow done", json::object());
  }));
  tools.push_back(make_tool("progress", [](const json&, RequestContext& r) {
    for (int i = 0; i <= 100; ++i) {
      r.progress(i, 100, "step");
      r.progress(i / 2.0, 100, "going back must not be sent");
    }
    return tool_result("progress done", json::object());
  }));
  tools.push_back(
      make_tool("boom", [](const json&, RequestContext&) -> json { throw std::runtime_error("exploded"); }));
  tools.push_back(make_tool("typed", [](const json& a, RequestContext&) {
    const ToolArgs args(a, {"crf"});
    return tool_result("ok", {{"crf", args.integer("crf", 0, 51).value_or(23)}});
  }));
  return tools;
}

TEST(McpSessionTools, ListAndCall) {
  std::atomic<bool> cancelled{false};
  Harness h(stand_in_tools(cancelled));
  h.initialize();
  const auto list = h.request(1, "tools/list")["result"]["tools"];
  ASSERT_EQ(list.size(), 5u);
  EXPECT_EQ(list[0]["name"], "echo");
  const auto r = h.request(2, "tools/call", {{"name", "echo"}, {"arguments", {{"x", 1}}}});
  EXPECT_EQ(r["result"]["structuredContent"], json({{"x", 1}}));
  EXPECT_EQ(r["result"]["isError"], false);
  EXPECT_EQ(r["result"]["content"][0]["type"], "text");
}

TEST(McpSessionTools, UnknownToolAndBadParamsAreMinus32602) {
  std::atomic<bool> cancelled{false};
  Harness h(stand_in_tools(cancelled));
  const auto r = h.request(1, "tools/call", {{"name", "nope"}});
  EXPECT_EQ(error_code(r), rpc::kInvalidParams);
  EXPECT_EQ(r["error"]["message"], "Unknown tool: nope");
  EXPECT_EQ(error_code(h.request(2, "tools/call", json::object())), rpc::kInvalidParams);
  EXPECT_EQ(error_code(h.request(3, "tools/call", {{"name", "echo"}, {"arguments", "x"}})),
            rpc::kInvalidParams);
}

TEST(McpSessionTools, FailuresAndBadArgumentsAreIsErrorResults) {
  std::atomic<bool> cancelled{false};
  Harness h(stand_in_tools(cancelled));
  auto r = h.request(1, "tools/call", {{"name", "boom"}})["result"];
  EXPECT_EQ(r["isError"], true);
  EXPECT_EQ(r["content"][0]["text"], "exploded");
  EXPECT_FALSE(r.contains("structuredContent"));
  r = h.request(2, "tools/call", {{"name", "typed"}, {"arguments", {{"crf", "high"}}}})["result"];
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("crf"), std::string::npos);
  r = h.request(3, "tools/call", {{"name", "typed"}, {"arguments", {{"crf", 60}}}})["result"];
  EXPECT_EQ(r["isError"], true);
  r = h.request(4, "tools/call", {{"name", "typed"}, {"arguments", {{"cfr", 20}}}})["result"];
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("cfr"), std::string::npos);
  EXPECT_EQ(
      h.request(5, "tools/call",
                {{"name", "typed"}, {"arguments", {{"crf", 20.0}}}})["result"]["structuredContent"]["crf"],
      20);
}

TEST(McpSessionTools, ALongCallDoesNotBlockPingAndCancelledCallsGetNoReply) {
  std::atomic<bool> cancelled{false};
  Harness h(stand_in_tools(cancelled));
  h.initialize();
  h.send(json{{"jsonrpc", "2.0"}, {"id", "long"}, {"method", "tools/call"}, {"params", {{"name", "slow"}}}});
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(h.request("p", "ping")["result"], json::object());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  h.raw(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"long","reason":"test"}})");
  h.session().wait_idle();
  EXPECT_TRUE(cancelled);
  for (const auto& l : h.lines()) EXPECT_NE(l.value("id", json()), "long") << l;
}

TEST(McpSessionTools, DuplicateIdInFlightIsRefused) {
  std::atomic<bool> cancelled{false};
  Harness h(stand_in_tools(cancelled));
  h.send(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", {{"name", "slow"}}}});
  const auto r = h.request(1, "tools/call", {{"name", "echo"}});
  EXPECT_EQ(error_code(r), rpc::kInvalidRequest);
  h.session().shutdown();
}

TEST(McpSessionTools, ProgressOnlyWithATokenThrottledAndGrowing) {
  std::atomic<bool> cancelled{false};
  Harness h(stand_in_tools(cancelled));
  h.initialize();
  h.clear();
  h.request(1, "tools/call", {{"name", "progress"}});
  for (const auto& l : h.lines()) EXPECT_NE(l.value("method", ""), "notifications/progress");
  h.clear();
  h.request(2, "tools/call", {{"name", "progress"}, {"_meta", {{"progressToken", "tok"}}}});
  std::vector<double> values;
  for (const auto& l : h.lines())
    if (l.value("method", "") == "notifications/progress") {
      EXPECT_EQ(l["params"]["progressToken"], "tok");
      EXPECT_EQ(l["params"]["total"], 100);
      values.push_back(l["params"]["progress"].get<double>());
    }
  // 202 calls within a few milliseconds: the first and the final one go out.
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values.front(), 0);
  EXPECT_EQ(values.back(), 100);
}

// ---------------------------------------------------------------------------------------------------
// The output sandbox.

class SandboxTest : public ::testing::Test {
 protected:
  test::TempDir tmp;
  fs::path root = fs::canonical(tmp.path()) / "out";
  fs::path outside = fs::canonical(tmp.path()) / "elsewhere";
  void SetUp() override {
    fs::create_directories(root / "sub");
    fs::create_directories(outside);
  }
};

TEST_F(SandboxTest, NormalRelativeNamesResolveUnderTheRoot) {
  OutputSandbox sb(root);
  EXPECT_EQ(sb.resolve_output("clip.mp4"), root / "clip.mp4");
  EXPECT_EQ(sb.resolve_output("sub/clip.mp4"), root / "sub" / "clip.mp4");
  EXPECT_EQ(sb.resolve_output("new/dir/clip"), root / "new" / "dir" / "clip");
  EXPECT_EQ(sb.resolve_output("./sub/../clip.mp4"), root / "clip.mp4");
  EXPECT_EQ(sb.resolve_output("hls/"), root / "hls");
  EXPECT_EQ(sb.resolve_output((root / "abs.mp4").string()), root / "abs.mp4");
}

TEST_F(SandboxTest, DotDotThatClimbsOutIsRefused) {
  OutputSandbox sb(root);
  EXPECT_THROW(sb.resolve_output("../escape.mp4"), ToolError);
  EXPECT_THROW(sb.resolve_output("sub/../../escape.mp4"), ToolError);
  EXPECT_THROW(sb.resolve_output("missing/../../../x"), ToolError);
  EXPECT_THROW(sb.resolve_output("."), ToolError);  // the root itself is not an output
  EXPECT_THROW(sb.resolve_output(""), ToolError);
}

TEST_F(SandboxTest, AbsolutePathsElsewhereAreRefused) {
  OutputSandbox sb(root);
  EXPECT_THROW(sb.resolve_output("/etc/passwd"), ToolError);
  EXPECT_THROW(sb.resolve_output((outside / "x.mp4").string()), ToolError);
  // A sibling whose name merely starts like the root is outside too.
  EXPECT_THROW(sb.resolve_output(root.string() + "-evil/x.mp4"), ToolError);
}

TEST_F(SandboxTest, SymlinksThatPointOutAreRefused) {
  fs::create_directory_symlink(outside, root / "link_out");
  fs::create_symlink(outside / "target.mp4", root / "file_link_out.mp4");
  fs::create_symlink(root / "does-not-exist", root / "dangling.mp4");
  fs::create_directory_symlink(root / "sub", root / "link_in");
  OutputSandbox sb(root);
  try {
    sb.resolve_output("link_out/x.mp4");
    FAIL() << "escape through a directory symlink was allowed";
  } catch (const ToolError& e) {
    EXPECT_NE(std::string(e.what()).find("outside the output directory"), std::string::npos) << e.what();
  }
  std::ofstream(outside / "target.mp4") << "x";
  EXPECT_THROW(sb.resolve_output("file_link_out.mp4"), ToolError);
  EXPECT_THROW(sb.resolve_output("dangling.mp4"), ToolError);
  EXPECT_THROW(sb.resolve_output("link_in/../../x.mp4"), ToolError);  // ".." after a symlink is physical
  // Found by fuzz_mcp_sandbox: past a missing part, ".." climbs back to where symlinks exist again.
  EXPECT_THROW(sb.resolve_output("nope/../link_out/x.mp4"), ToolError);
  EXPECT_THROW(sb.resolve_output("a/b/../../link_out/x.mp4"), ToolError);
  EXPECT_EQ(sb.resolve_output("link_in/x.mp4"), root / "sub" / "x.mp4");
}

// ---------------------------------------------------------------------------------------------------
// Settings.

GetEnv env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

TEST(McpServerConfig, ExpandsTildeAndHome) {
  EXPECT_EQ(expand_home("~", "/h/u"), "/h/u");
  EXPECT_EQ(expand_home("~/videos", "/h/u"), "/h/u/videos");
  EXPECT_EQ(expand_home("${HOME}/videos", "/h/u"), "/h/u/videos");
  EXPECT_EQ(expand_home("$HOME/videos", "/h/u"), "/h/u/videos");
  EXPECT_EQ(expand_home("/a/$HOME/b/${HOME}", "/h"), "/a//h/b//h");
  EXPECT_EQ(expand_home("$HOMEDIR/x", "/h"), "$HOMEDIR/x");
  EXPECT_EQ(expand_home("a~b", "/h"), "a~b");
  EXPECT_EQ(expand_home("~other/x", "/h"), "~other/x");
}

TEST(McpServerConfig, DefaultsAndExpansion) {
  auto c = parse_server_config({}, env_of({{"HOME", "/home/u"}}));
  EXPECT_EQ(c.output_dir, "/home/u/pvt-output");
  EXPECT_EQ(c.max_workers, 0);
  EXPECT_EQ(c.segment_duration, 10);
  EXPECT_EQ(c.lookahead, 40);
  EXPECT_EQ(c.encoder, "auto");
  EXPECT_EQ(c.max_concurrent_jobs, 1);
  EXPECT_EQ(c.log_level, LogLevel::kInfo);

  c = parse_server_config(
      {"--output-dir", "${HOME}/out", "--max-workers=3", "--segment-duration", "4.5", "--lookahead", "20",
       "--encoder", "x264", "--max-concurrent-jobs", "2", "--log-level", "debug"},
      env_of({{"HOME", "/home/u"}}));
  EXPECT_EQ(c.output_dir, "/home/u/out");
  EXPECT_EQ(c.max_workers, 3);
  EXPECT_EQ(c.segment_duration, 4.5);
  EXPECT_EQ(c.lookahead, 20);
  EXPECT_EQ(c.encoder, "x264");
  EXPECT_EQ(c.max_concurrent_jobs, 2);
  EXPECT_EQ(c.log_level, LogLevel::kDebug);

  EXPECT_EQ(parse_server_config({"--output-dir", "~/o"}, env_of({{"HOME", "/h"}})).output_dir, "/h/o");
}

TEST(McpServerConfig, EnvironmentFillsAbsentOptions) {
  const auto env = env_of({{"HOME", "/h"},
                           {"PVT_OUTPUT_DIR", "$HOME/env-out"},
                           {"PVT_MAX_WORKERS", "5"},
                           {"PVT_SEGMENT_DURATION", "6"},
                           {"PVT_LOOKAHEAD", "10"},
                           {"PVT_ENCODER", "x264"},
                           {"PVT_MAX_CONCURRENT_JOBS", "3"}});
  auto c = parse_server_config({}, env);
  EXPECT_EQ(c.output_dir, "/h/env-out");
  EXPECT_EQ(c.max_workers, 5);
  EXPECT_EQ(c.segment_duration, 6);
  EXPECT_EQ(c.lookahead, 10);
  EXPECT_EQ(c.encoder, "x264");
  EXPECT_EQ(c.max_concurrent_jobs, 3);
  EXPECT_EQ(parse_server_config({"--max-workers", "2"}, env).max_workers, 2);  // the option wins
}

TEST(McpServerConfig, ExecutorAndSlurmSettings) {
  const auto env = env_of({{"HOME", "/h"}, {"PVT_SLURM_ACCOUNT", "film"}});
  auto c = parse_server_config({}, env);
  EXPECT_EQ(c.executor, "local");
  c = parse_server_config({"--executor", "slurm", "--slurm-partition", "gpu", "--slurm-time", "1:00:00",
                           "--slurm-extra", "--qos=low  --constraint=avx2", "--slurm-partition", "cpu"},
                          env);
  EXPECT_EQ(c.executor, "slurm");
  EXPECT_EQ(c.slurm_partition, "cpu");  // the last occurrence wins
  EXPECT_EQ(c.slurm_account, "film");   // from the environment
  EXPECT_EQ(c.slurm_time, "1:00:00");
  EXPECT_EQ(c.slurm_extra, (std::vector<std::string>{"--qos=low", "--constraint=avx2"}));
  // Empty (what a host passes for a setting left blank) is the default.
  EXPECT_EQ(parse_server_config({"--executor", ""}, env).executor, "local");
  try {
    parse_server_config({"--executor", "k8s"}, env);
    FAIL() << "k8s accepted";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--executor takes local or slurm, not 'k8s'");
  }
  // A job under Slurm gets the settings, and "auto" means the CPU encoders there.
  TranscodeOptions o;
  o.encoder = "auto";
  apply_executor(o, c);
  EXPECT_EQ(o.executor, "slurm");
  EXPECT_EQ(o.slurm.partition, "cpu");
  EXPECT_EQ(o.slurm.extra.size(), 2u);
  EXPECT_EQ(o.encoder, "x264");
}

TEST(McpServerConfig, RefusesUnexpandedPlaceholdersNamingTheOption) {
  const auto env = env_of({{"HOME", "/h"}});
  try {
    parse_server_config({"--output-dir", "/tmp/x", "--max-workers", "${user_config.max_workers}"}, env);
    FAIL() << "placeholder accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "--max-workers was given the unexpanded placeholder '${user_config.max_workers}'; set it in the "
        "extension's settings");
  }
  try {
    parse_server_config({"--output-dir=${user_config.output_dir}/x"}, env);
    FAIL() << "placeholder accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "--output-dir was given the unexpanded placeholder '${user_config.output_dir}/x'"),
              std::string::npos)
        << e.what();
  }
  try {
    parse_server_config({}, env_of({{"HOME", "/h"}, {"PVT_LOOKAHEAD", "${user_config.lookahead}"}}));
    FAIL() << "placeholder accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("PVT_LOOKAHEAD"), std::string::npos) << e.what();
  }
}

TEST(McpServerConfig, RefusesBadValuesAndUnknownOptions) {
  const auto env = env_of({{"HOME", "/h"}});
  EXPECT_THROW(parse_server_config({"--max-workers", "many"}, env), ConfigError);
  EXPECT_THROW(parse_server_config({"--max-workers", "-1"}, env), ConfigError);
  EXPECT_THROW(parse_server_config({"--max-workers", "2.5"}, env), ConfigError);
  EXPECT_EQ(parse_server_config({"--max-workers", "4.0"}, env).max_workers, 4);  // a host's number as text
  EXPECT_THROW(parse_server_config({"--segment-duration", "0"}, env), ConfigError);
  EXPECT_THROW(parse_server_config({"--encoder", "x266"}, env), ConfigError);
  // Every backend pvt has is a valid setting; whether this machine opens it is the transcode's check.
  for (const char* backend : {"auto", "x264", "x265", "nvenc", "vaapi", "qsv", "videotoolbox"})
    EXPECT_EQ(parse_server_config({"--encoder", backend}, env).encoder, backend);
  EXPECT_THROW(parse_server_config({"--max-concurrent-jobs", "0"}, env), ConfigError);
  EXPECT_THROW(parse_server_config({"--log-level", "loud"}, env), ConfigError);
  EXPECT_THROW(parse_server_config({"--bogus", "1"}, env), ConfigError);
  EXPECT_THROW(parse_server_config({"--lookahead"}, env), ConfigError);
  EXPECT_THROW(parse_server_config({"stray"}, env), ConfigError);
  // An empty value is what a host passes for a setting left blank: the default applies.
  EXPECT_EQ(parse_server_config({"--max-workers", ""}, env).max_workers, 0);
}

TEST(McpServerConfig, OutputDirIsCreatedAndResolved) {
  test::TempDir tmp;
  fs::create_directory_symlink(tmp.path(), tmp.path() / "alias");
  ServerConfig c;
  c.output_dir = (tmp.path() / "alias" / "new" / "out").string();
  prepare_output_dir(c);
  EXPECT_EQ(c.output_dir, (fs::canonical(tmp.path()) / "new" / "out").string());
  EXPECT_TRUE(fs::is_directory(c.output_dir));
}

// ---------------------------------------------------------------------------------------------------
// The job registry, with a stand-in for the engine.

TEST(McpJobRegistry, QueuesBeyondMaxConcurrentAndRunsInOrder) {
  FakeEngine engine;
  JobRegistry jobs(1, engine.runner(), nullptr);
  TranscodeOptions o;
  o.input = "in";
  o.output = "/o/a.mp4";
  const auto a = jobs.submit(o, "/o/a.mp4", "mp4");
  o.output = "/o/b.mp4";
  const auto b = jobs.submit(o, "/o/b.mp4", "mp4");
  EXPECT_EQ(a.state, JobState::kRunning);
  EXPECT_EQ(b.state, JobState::kQueued);
  EXPECT_EQ(jobs.job_writing("/o/b.mp4"), b.id);
  engine.release = true;
  const auto done = jobs.wait(b.id, std::chrono::steady_clock::now() + 10s, nullptr);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::kSucceeded);
  EXPECT_EQ(done->percent, 100);
  EXPECT_EQ(jobs.status(a.id)->state, JobState::kSucceeded);
  EXPECT_EQ(engine.started, 2);
  EXPECT_FALSE(jobs.job_writing("/o/b.mp4"));
}

TEST(McpJobRegistry, OneOutputGetsOneJobEvenWhenCallsRace) {
  FakeEngine engine;
  JobRegistry jobs(1, engine.runner(), nullptr);
  std::atomic<int> accepted{0}, busy{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 16; ++i)
    callers.emplace_back([&] {
      try {
        jobs.submit({}, "/o/same.mp4", "mp4");
        ++accepted;
      } catch (const JobRegistry::OutputBusy& e) {
        EXPECT_NE(std::string(e.what()).find("is already writing /o/same.mp4"), std::string::npos);
        ++busy;
      }
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(busy, 15);
  EXPECT_EQ(jobs.list().size(), 1u);
  engine.release = true;
  const auto first = jobs.list().front();
  EXPECT_EQ(jobs.wait(first.id, std::chrono::steady_clock::now() + 10s, nullptr)->state,
            JobState::kSucceeded);
  EXPECT_NO_THROW(jobs.submit({}, "/o/same.mp4", "mp4"));  // a finished job no longer holds its output
}

TEST(McpJobRegistry, CancelStopsRunningAndQueuedJobs) {
  FakeEngine engine;
  JobRegistry jobs(1, engine.runner(), nullptr);
  TranscodeOptions o;
  const auto a = jobs.submit(o, "/o/a", "hls");
  const auto b = jobs.submit(o, "/o/b", "hls");
  EXPECT_EQ(jobs.cancel(b.id, 1s)->state, JobState::kCancelled);
  EXPECT_EQ(jobs.cancel(a.id, 5s)->state, JobState::kCancelled);
  EXPECT_EQ(jobs.cancel(a.id, 1s)->state, JobState::kCancelled);  // again: not an error
  EXPECT_FALSE(jobs.cancel("job-99", 1s));
  EXPECT_EQ(engine.started, 1);
}

TEST(McpJobRegistry, LongPollReturnsAtItsDeadlineWithProgressThatNeverShrinks) {
  FakeEngine engine;
  JobRegistry jobs(1, engine.runner(), nullptr);
  const auto a = jobs.submit({}, "/o/a", "hls");
  double last = -1;
  int updates = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const auto s = jobs.wait(a.id, t0 + 600ms, nullptr, [&](const JobStatus& u) {
    EXPECT_GE(u.percent, last);
    last = u.percent;
    ++updates;
  });
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 550ms);
  EXPECT_EQ(s->state, JobState::kRunning);
  EXPECT_GT(updates, 1);
  EXPECT_LE(updates, 10);  // coalesced, not one per engine update
  std::atomic<bool> stop{true};
  const auto t1 = std::chrono::steady_clock::now();
  jobs.wait(a.id, t1 + 10s, &stop);  // a cancelled long-poll returns at once
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 1s);
}

TEST(McpJobRegistry, FailedJobsCarryTheEngineMessage) {
  FakeEngine engine;
  engine.release = true;
  JobRegistry jobs(2, engine.runner(), nullptr);
  TranscodeOptions o;
  o.input = "bad";
  const auto a = jobs.submit(o, "/o/a", "hls");
  const auto s = jobs.wait(a.id, std::chrono::steady_clock::now() + 10s, nullptr);
  EXPECT_EQ(s->state, JobState::kFailed);
  EXPECT_EQ(s->error, "bad: not a video");
}

// ---------------------------------------------------------------------------------------------------
// analyze_video's cache.

AnalysisCache::Key cache_key(std::int64_t version = 1) {
  AnalysisCache::Key k;
  k.path = "/v.mp4";
  k.size = 100;
  k.mtime_ns = version;
  k.scene_threshold = 0.35;
  k.min_scene_frames = 12;
  k.segment_duration = 10;
  return k;
}

TEST(McpAnalysisCache, ConcurrentCallsShareOneComputationAndItsProgressAndRepeatsAreFree) {
  AnalysisCache cache;
  std::atomic<int> computed{0};
  std::atomic<bool> not_cancelled{false};
  std::vector<std::thread> callers;
  std::vector<json> got(8);
  std::vector<int> progress_seen(8, 0);
  for (int i = 0; i < 8; ++i)
    callers.emplace_back([&, i] {
      got[i] = cache.get_or_compute(
          cache_key(),
          [&](const AnalysisCache::ProgressFn& report) {
            ++computed;
            // Long enough for the others to arrive and see progress (waiters look every 200 ms).
            for (int step = 1; step <= 10; ++step) {
              std::this_thread::sleep_for(100ms);
              report({static_cast<double>(step), 10, "step"});
            }
            return json{{"scenes", 4}};
          },
          not_cancelled,
          [&, i](const AnalysisCache::Progress& p) { progress_seen[i] = static_cast<int>(p.done); });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(computed, 1);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(got[i], (json{{"scenes", 4}}));
    EXPECT_GT(progress_seen[i], 0) << "caller " << i << " saw no progress";
  }
  auto count = [&](const AnalysisCache::ProgressFn&) { return ++computed, json(); };
  cache.get_or_compute(cache_key(), count, not_cancelled);
  EXPECT_EQ(computed, 1);
  // Another file version or other options are another analysis.
  AnalysisCache::Key other = cache_key();
  other.scene_threshold = 0.5;
  AnalysisCache::Key replaced = cache_key();
  replaced.inode = 7;
  cache.get_or_compute(cache_key(2), count, not_cancelled);
  cache.get_or_compute(other, count, not_cancelled);
  cache.get_or_compute(replaced, count, not_cancelled);
  EXPECT_EQ(computed, 4);
}

TEST(McpAnalysisCache, AFailureIsSharedWithItsWaitersAndNotKept) {
  AnalysisCache cache;
  std::atomic<bool> no{false};
  std::atomic<int> computed{0};
  std::vector<std::thread> callers;
  std::atomic<int> failed{0};
  for (int i = 0; i < 4; ++i)
    callers.emplace_back([&] {
      try {
        cache.get_or_compute(
            cache_key(),
            [&](const AnalysisCache::ProgressFn&) -> json {
              ++computed;
              std::this_thread::sleep_for(200ms);
              throw Error(ErrorCode::kInput, "damaged");
            },
            no);
      } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "damaged");
        ++failed;
      }
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(failed, 4);
  EXPECT_EQ(computed, 1) << "the waiters got the failure instead of decoding again, one after another";
  EXPECT_EQ(cache.size(), 0u);
}

TEST(McpAnalysisCache, AWaiterComputesWhenItsProducerIsCancelledAndReturnsWhenItIsCancelledItself) {
  AnalysisCache cache;
  std::atomic<bool> no{false}, producer_cancelled{false};
  std::promise<void> started;
  std::thread producer([&] {
    EXPECT_THROW(cache.get_or_compute(
                     cache_key(),
                     [&](const AnalysisCache::ProgressFn&) -> json {
                       started.set_value();
                       std::this_thread::sleep_for(100ms);
                       producer_cancelled = true;  // its client cancelled it
                       throw Error(ErrorCode::kInterrupted, "analysis cancelled");
                     },
                     producer_cancelled),
                 Error);
  });
  started.get_future().wait();
  const json r = cache.get_or_compute(
      cache_key(),
      [](const AnalysisCache::ProgressFn&) {
        return json{{"ok", true}};
      },
      no);
  producer.join();
  EXPECT_EQ(r, (json{{"ok", true}}));
  EXPECT_EQ(cache.size(), 1u);

  // A waiter cancelled by its own client returns within the poll interval, long before the computation ends.
  std::promise<void> slow_started;
  std::thread slow([&] {
    cache.get_or_compute(
        cache_key(2),
        [&](const AnalysisCache::ProgressFn&) {
          slow_started.set_value();
          std::this_thread::sleep_for(2s);
          return json();
        },
        no);
  });
  slow_started.get_future().wait();
  std::atomic<bool> waiter_cancelled{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(100ms);
    waiter_cancelled = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(cache.get_or_compute(
                   cache_key(2), [](const AnalysisCache::ProgressFn&) { return json(); }, waiter_cancelled),
               Error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  canceller.join();
  slow.join();
}

TEST(McpAnalysisCache, KeepsTheMostRecentlyUsed) {
  AnalysisCache cache(2);
  std::atomic<bool> no{false};
  int computed = 0;
  auto get = [&](std::int64_t version) {
    cache.get_or_compute(
        cache_key(version), [&](const AnalysisCache::ProgressFn&) { return ++computed, json(version); }, no);
  };
  get(1);
  get(2);
  get(1);  // 1 is now the most recent
  get(3);  // evicts 2
  EXPECT_EQ(computed, 3);
  get(1);
  EXPECT_EQ(computed, 3);
  get(2);
  EXPECT_EQ(computed, 4);
  EXPECT_EQ(cache.size(), 2u);
}

// ---------------------------------------------------------------------------------------------------
// The pvt tools' argument and path checks, in-process (the engine replaced by the stand-in).

class PvtToolsTest : public ToolsFixture {
 protected:
  void SetUp() override { start_tools(/*with_interrupt=*/false); }
};

TEST_F(PvtToolsTest, ListsTheSixToolsWithSchemasAndAnnotations) {
  const auto tools = h->request(1, "tools/list")["result"]["tools"];
  std::vector<std::string> names;
  for (const auto& t : tools) {
    names.push_back(t["name"]);
    EXPECT_EQ(t["inputSchema"]["type"], "object");
    EXPECT_EQ(t["outputSchema"]["type"], "object");
    EXPECT_TRUE(t["annotations"].contains("readOnlyHint"));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"analyze_video", "transcode_video", "get_transcode_status",
                                             "cancel_transcode", "list_transcodes", "get_capabilities"}));
}

TEST_F(PvtToolsTest, TranscodeRefusesWhatTheModelCanCorrect) {
  const std::string clip = test::scene_clip();
  std::ofstream(tmp / "notes.txt") << "not a video";
  EXPECT_TRUE(call("transcode_video", json::object())["isError"]);
  EXPECT_TRUE(call("transcode_video", {{"input", (tmp / "missing.mp4")}})["isError"]);
  auto r = call("transcode_video", {{"input", tmp / "notes.txt"}});
  EXPECT_TRUE(r["isError"]);
  r = call("transcode_video", {{"input", clip}, {"output", "../escape"}});
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("outside the output directory"), std::string::npos) << text(r);
  EXPECT_TRUE(call("transcode_video", {{"input", clip}, {"output", "/etc/x.mp4"}})["isError"]);
  r = call("transcode_video", {{"input", clip}, {"crf", "23"}});
  EXPECT_NE(text(r).find("crf"), std::string::npos);
  EXPECT_TRUE(call("transcode_video", {{"input", clip}, {"crf", 20}, {"bitrate", "2M"}})["isError"]);
  r = call("transcode_video", {{"input", clip}, {"bitrate", "fast"}});
  EXPECT_NE(text(r).find("bitrate"), std::string::npos);
  EXPECT_TRUE(call("transcode_video", {{"input", clip}, {"preset", "warp"}})["isError"]);
  EXPECT_TRUE(call("transcode_video", {{"input", clip}, {"output", "x.mp4"}, {"format", "hls"}})["isError"]);

  std::ofstream(fs::path(config.output_dir) / "exists.mp4") << "old";
  r = call("transcode_video", {{"input", clip}, {"output", "exists.mp4"}});
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("overwrite"), std::string::npos);
  EXPECT_FALSE(
      call("transcode_video", {{"input", clip}, {"output", "exists.mp4"}, {"overwrite", true}})["isError"]);
}

TEST_F(PvtToolsTest, OverlongArgumentsAreRefusedWithoutBeingEchoed) {
  const std::string clip = test::scene_clip();
  const std::string long_path(5000, 'p');
  auto r = call("analyze_video", {{"path", long_path}});
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("path is too long (5000 bytes; at most 4096)"), std::string::npos) << text(r);
  r = call("transcode_video", {{"input", clip}, {"output", long_path}});
  EXPECT_NE(text(r).find("output is too long"), std::string::npos) << text(r);
  for (const json& args : {json{{"input", clip}, {"preset", std::string(300000, 'f')}},
                           json{{"input", clip}, {std::string(300000, 'k'), 1}},
                           json{{"input", clip}, {"crf", json::array({std::string(300000, 'c')})}},
                           json{{"input", clip}, {"bitrate", std::string(4000, '9') + "x"}}}) {
    r = call("transcode_video", args);
    EXPECT_TRUE(r["isError"]);
    EXPECT_LT(r.dump().size(), 1000u) << text(r).substr(0, 300);
  }
  EXPECT_TRUE(jobs->list().empty());
}

TEST_F(PvtToolsTest, TranscodeChecksTheOutputBeforeOpeningTheInput) {
  // Refused for its output even though the input is not a video: the cheap check comes first, so a
  // flood of bad calls costs no demuxing.
  std::ofstream(tmp / "notes.txt") << "not a video";
  auto r = call("transcode_video", {{"input", tmp / "notes.txt"}, {"output", "../x.mp4"}});
  EXPECT_NE(text(r).find("outside the output directory"), std::string::npos) << text(r);
  r = call("transcode_video", {{"input", tmp / "notes.txt"}, {"output", "fine.mp4"}});
  EXPECT_NE(text(r).find("cannot be transcoded"), std::string::npos) << text(r);
}

TEST_F(PvtToolsTest, TargetQualityReachesTheEngineAndTheStatusShowsSegmentScores) {
  const std::string clip = test::scene_clip();
  EXPECT_TRUE(
      call("transcode_video", {{"input", clip}, {"target_quality", 0.98}, {"bitrate", "2M"}})["isError"]);
  auto r = call("transcode_video", {{"input", clip}, {"metric", "psnr"}});
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(text(r).find("need target_quality"), std::string::npos) << text(r);
  EXPECT_TRUE(call("transcode_video",
                   {{"input", clip}, {"target_quality", 0.98}, {"metric", "butteraugli"}})["isError"]);
  EXPECT_TRUE(call("transcode_video", {{"input", clip}, {"target_quality", -1}})["isError"]);

  r = call("transcode_video", {{"input", clip},
                               {"target_quality", 42},
                               {"metric", "psnr"},
                               {"quality_pool", "p5"},
                               {"format", "mp4"}});
  ASSERT_FALSE(r["isError"]) << r;
  const TranscodeOptions o = engine.options_of(1);
  EXPECT_DOUBLE_EQ(o.quality.target, 42);
  EXPECT_EQ(o.quality.metric, "psnr");
  EXPECT_EQ(o.quality.pool, "p5");
  // The probe cache stays inside the output directory.
  EXPECT_EQ(o.quality.probe_cache.rfind(config.output_dir + "/", 0), 0u) << o.quality.probe_cache;
  const std::string id = r["structuredContent"]["job_id"];
  json status;
  for (int i = 0; i < 200 && (status.is_null() || status["segment_quality"].empty()); ++i) {
    status = call("get_transcode_status", {{"job_id", id}})["structuredContent"];
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(status["segment_quality"].size(), 1u) << status;
  EXPECT_EQ(status["segment_quality"][0]["segment"], 0);
  EXPECT_DOUBLE_EQ(status["segment_quality"][0]["crf"].get<double>(), 24.5);
  EXPECT_DOUBLE_EQ(status["segment_quality"][0]["score"].get<double>(), 42);
}

TEST_F(PvtToolsTest, ALadderReachesTheEngineAndItsOutputIsTheMasterPlaylist) {
  const std::string clip = test::scene_clip();
  auto r = call("transcode_video", {{"input", clip}, {"ladder", "720p"}});
  EXPECT_TRUE(r["isError"]) << r;
  r = call("transcode_video", {{"input", clip}, {"segment_type", "mkv"}});
  EXPECT_TRUE(r["isError"]) << r;
  r = call("transcode_video", {{"input", clip}, {"ladder", "240,120"}, {"segment_type", "fmp4"}});
  ASSERT_FALSE(r["isError"]) << r;
  const TranscodeOptions o = engine.options_of(1);
  EXPECT_EQ(o.ladder, "240,120");
  EXPECT_EQ(o.segment_type, "fmp4");
  EXPECT_EQ(std::filesystem::path(o.output).parent_path(), std::filesystem::path(config.output_dir))
      << o.output;
  EXPECT_NE(text(r).find("master.m3u8"), std::string::npos) << text(r);
}

TEST_F(PvtToolsTest, TranscodeAnswersAtOnceAndJobToolsFollowIt) {
  const std::string clip = test::scene_clip();
  auto r = call("transcode_video", {{"input", clip}});
  ASSERT_FALSE(r["isError"]) << r;
  const auto s = r["structuredContent"];
  EXPECT_EQ(s["state"], "running");
  EXPECT_EQ(s["format"], "hls");
  EXPECT_EQ(s["output"], config.output_dir + "/scenes/index.m3u8");
  const std::string id = s["job_id"];

  r = call("transcode_video", {{"input", clip}});  // same output while the first job runs
  EXPECT_TRUE(r["isError"]);
  r = call("transcode_video", {{"input", clip}, {"format", "mp4"}});
  EXPECT_EQ(r["structuredContent"]["output"], config.output_dir + "/scenes.mp4");
  EXPECT_EQ(r["structuredContent"]["state"], "queued");

  r = call("get_transcode_status", {{"job_id", id}});
  EXPECT_EQ(r["structuredContent"]["state"], "running");
  EXPECT_TRUE(r["structuredContent"]["summary"].is_null());
  EXPECT_TRUE(call("get_transcode_status", {{"job_id", "job-404"}})["isError"]);
  EXPECT_TRUE(call("get_transcode_status", {{"job_id", id}, {"wait_seconds", 31}})["isError"]);

  EXPECT_EQ(call("list_transcodes", json::object())["structuredContent"]["jobs"].size(), 2u);
  r = call("cancel_transcode", {{"job_id", id}});
  EXPECT_EQ(r["structuredContent"]["state"], "cancelled");
  engine.release = true;
  r = call("get_transcode_status", {{"job_id", "job-2"}, {"wait_seconds", 10}});
  EXPECT_EQ(r["structuredContent"]["state"], "succeeded");
  // The summary, a resource link to the output, then one to each report (summary, timeline SVG and PNG).
  ASSERT_EQ(r["content"].size(), 5u);
  EXPECT_EQ(r["content"][1]["type"], "resource_link");
  EXPECT_EQ(r["content"][1]["mimeType"], "video/mp4");
  EXPECT_EQ(r["content"][1]["uri"], "file://" + config.output_dir + "/scenes.mp4");
  EXPECT_EQ(r["content"][2]["uri"], "pvt://jobs/job-2/summary");
  EXPECT_EQ(r["content"][4]["mimeType"], "image/png");
}

TEST_F(PvtToolsTest, CapabilitiesReportTheMachineAndDefaults) {
  const auto r = call("get_capabilities", json::object());
  ASSERT_FALSE(r["isError"]) << r;
  const auto s = r["structuredContent"];
  EXPECT_GE(s["cores"].get<int>(), 1);
  EXPECT_GT(s["memory_bytes"].get<std::int64_t>(), 0);
  EXPECT_EQ(s["encoders"][0]["name"], "x264");
  EXPECT_EQ(s["encoders"][0]["codec"], "h264");
  EXPECT_TRUE(s["encoders"][0]["available"].get<bool>());
  // The same session probe as `pvt caps`: every hardware encoder says how many sessions, or why not.
  bool saw_nvenc = false;
  for (const auto& e : s["encoders"]) {
    saw_nvenc = saw_nvenc || e["name"] == "nvenc";
    if (!e["hardware"].get<bool>()) continue;
    if (e["available"].get<bool>())
      EXPECT_GE(e["sessions"].get<int>(), 1) << e;
    else
      EXPECT_FALSE(e["reason"].get<std::string>().empty()) << e;
  }
  EXPECT_TRUE(saw_nvenc);
  EXPECT_EQ(s["hardware"].size(), 5u);
  for (const auto& hw : s["hardware"])
    if (!hw["available"]) {
      EXPECT_FALSE(hw["reason"].get<std::string>().empty()) << hw;
    }
  EXPECT_EQ(s["defaults"]["output_dir"], config.output_dir);
}

TEST_F(PvtToolsTest, AnalyzeReturnsTheReport) {
  const auto r = call("analyze_video", {{"path", test::scene_clip()}, {"segment_duration", 2}});
  ASSERT_FALSE(r["isError"]) << r;
  const auto s = r["structuredContent"];
  EXPECT_EQ(s["version"], 1);
  EXPECT_EQ(s["media"]["video"]["frames"], 200);
  std::vector<int> cuts;
  for (const auto& c : s["scene_cuts"]) cuts.push_back(c["frame"]);
  EXPECT_EQ(cuts, test::kSceneClipCuts);
  EXPECT_FALSE(s.contains("frames"));  // no per-frame data
  EXPECT_TRUE(call("analyze_video", {{"path", "nope.mp4"}})["isError"]);
}

TEST_F(PvtToolsTest, AnalysesRunTenNiceLevelsBelowTheServer) {
  // A transcode's workers keep the CPU they need while the model asks for analyses: the analysis runs
  // (and answers) on a thread 10 nice levels down; other calls do not.
  const int base = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  h->request(1, "tools/call", {{"name", "analyze_video"}, {"arguments", {{"path", test::scene_clip()}}}});
  EXPECT_EQ(h->reply_sender_nice(1), std::min(base + 10, 19));
  h->request(2, "tools/call", {{"name", "get_capabilities"}, {"arguments", json::object()}});
  EXPECT_EQ(h->reply_sender_nice(2), base);
}

TEST_F(PvtToolsTest, AnalyzeAnswersARepeatFromMemoryAndAChangedFileAfresh) {
  const std::string clip = tmp / "clip.mp4";
  fs::copy_file(test::scene_clip(), clip);
  const auto first = call("analyze_video", {{"path", clip}});
  ASSERT_FALSE(first["isError"]) << first;
  EXPECT_EQ(call("analyze_video", {{"path", clip}}), first);  // the same report, timing included
  EXPECT_EQ(call("analyze_video", {{"path", clip}, {"scene_threshold", 0.9}})["structuredContent"]["media"],
            first["structuredContent"]["media"]);
  // Rewritten with half the frames: a new size and mtime, so a new analysis.
  const std::string half = tmp / "half.mp4";
  ASSERT_EQ(
      test::run({"ffmpeg", "-v", "error", "-i", clip, "-frames:v", "100", "-c", "copy", half}).exit_code, 0);
  fs::rename(half, clip);
  const auto again = call("analyze_video", {{"path", clip}});
  ASSERT_FALSE(again["isError"]) << again;
  EXPECT_EQ(again["structuredContent"]["media"]["video"]["frames"], 100);
}

// ---------------------------------------------------------------------------------------------------
// The real binary.

class McpProcess {
 public:
  explicit McpProcess(const std::vector<std::string>& args) {
    int in[2], out[2];
    EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    std::vector<std::string> argv{PVT_MCP_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    to_ = in[1];
    from_ = out[0];
  }
  ~McpProcess() {
    if (to_ >= 0) close(to_);
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(from_);
  }
  void send(const json& j) {
    const std::string line = j.dump() + "\n";
    ASSERT_EQ(write(to_, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  }
  // The next line, or null after `timeout`.
  json next(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        const std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return json::parse(line);  // every stdout line must be JSON
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return nullptr;
      pollfd p{from_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(from_, buf, sizeof buf);
      if (n <= 0) return nullptr;
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }
  // Lines until the reply to `id`; notifications are collected.
  json reply(const json& id, std::chrono::milliseconds timeout, std::vector<json>* notes = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      json l = next(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (l.is_null()) break;
      if (l.contains("method")) {
        if (notes) notes->push_back(l);
      } else if (l["id"] == id) {
        return l;
      }
    }
    return nullptr;
  }
  pid_t pid() const { return pid_; }
  // initialize (as id 1) and notifications/initialized; the reply to initialize, or null.
  json initialize() {
    send({{"jsonrpc", "2.0"},
          {"id", 1},
          {"method", "initialize"},
          {"params",
           {{"protocolVersion", "2025-06-18"},
            {"capabilities", json::object()},
            {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}});
    json init = reply(1, std::chrono::seconds(10));
    if (!init.is_null()) send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    return init;
  }
  int close_and_wait() {
    close(to_);
    to_ = -1;
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  bool reaped_ = false;
  std::string buffer_;
};

TEST(PvtMcpBinary, RefusesAPlaceholderWithExitCode2AndOneLine) {
  test::TempDir tmp;
  const auto r =
      test::run({PVT_MCP_BINARY, "--output-dir", tmp / "o", "--max-workers", "${user_config.max_workers}"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "pvt-mcp: error: --max-workers was given the unexpanded placeholder "
            "'${user_config.max_workers}'; set it "
            "in the extension's settings\n");
  EXPECT_TRUE(r.out.empty());
}

// The server probes the encoders at start, SVT-AV1 among them, which (as root) would make it and every
// worker it starts SCHED_FIFO 99: workers then held the cores and the server read a cancel 15 s late.
TEST(PvtMcpBinary, ProbingTheEncodersLeavesTheServerAtNormalScheduling) {
  test::TempDir tmp;
  McpProcess p({"--output-dir", tmp / "out"});
  ASSERT_FALSE(p.initialize().is_null());
  p.send({{"jsonrpc", "2.0"},
          {"id", 2},
          {"method", "tools/call"},
          {"params", {{"name", "get_capabilities"}, {"arguments", json::object()}}}});
  const auto caps = p.reply(2, 30s);
  ASSERT_FALSE(caps.is_null());
  EXPECT_EQ(test::threads_not_at_normal_scheduling(p.pid()), std::vector<std::string>{}) << caps.dump();
  EXPECT_EQ(p.close_and_wait(), 0);
}

TEST(PvtMcpBinary, TranscodesWithWaitAndProgressThenExitsAtEndOfInput) {
  test::TempDir tmp;
  McpProcess p({"--output-dir", tmp / "out", "--max-workers", "2"});
  const auto init = p.initialize();
  ASSERT_FALSE(init.is_null());
  EXPECT_EQ(init["result"]["protocolVersion"], "2025-06-18");
  p.send({{"jsonrpc", "2.0"},
          {"id", 2},
          {"method", "tools/call"},
          {"params",
           {{"name", "transcode_video"},
            {"arguments",
             {{"input", test::scene_clip(true)}, {"format", "mp4"}, {"preset", "ultrafast"}, {"wait", true}}},
            {"_meta", {{"progressToken", 7}}}}}});
  p.send({{"jsonrpc", "2.0"}, {"id", 3}, {"method", "ping"}});
  std::vector<json> notes;
  const auto pong = p.reply(3, 5s, &notes);
  EXPECT_EQ(pong["result"], json::object()) << "ping must not wait for the transcode";
  const auto done = p.reply(2, 300s, &notes);
  ASSERT_FALSE(done.is_null());
  const auto s = done["result"]["structuredContent"];
  ASSERT_EQ(s["state"], "succeeded") << done;
  EXPECT_TRUE(fs::is_regular_file(s["output"].get<std::string>()));
  EXPECT_EQ(test::ffprobe_frames(s["output"]), 200);
  double last = -1;
  int progress = 0;
  for (const auto& n : notes)
    if (n["method"] == "notifications/progress") {
      EXPECT_EQ(n["params"]["progressToken"], 7);
      EXPECT_GT(n["params"]["progress"].get<double>(), last);
      last = n["params"]["progress"];
      ++progress;
    }
  EXPECT_GE(progress, 1);
  EXPECT_EQ(last, 100);
  EXPECT_EQ(p.close_and_wait(), 0);
  // Nothing but the output is left in the output directory (no work directories or temporaries).
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(tmp.path() / "out")) entries.push_back(e.path().filename());
  EXPECT_EQ(entries, std::vector<std::string>{"scenes_audio.mp4"});
}

}  // namespace
}  // namespace pvt::mcp
