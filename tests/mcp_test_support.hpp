// What the in-process MCP tests share: a session driven by strings, and a stand-in for the engine.
#pragma once

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "error.hpp"
#include "job_registry.hpp"
#include "job_resources.hpp"
#include "job_tasks.hpp"
#include "json_rpc.hpp"
#include "mcp_session.hpp"
#include "output_sandbox.hpp"
#include "server_config.hpp"
#include "test_support.hpp"
#include "tools.hpp"

namespace pvt::mcp {

using nlohmann::json;
using namespace std::chrono_literals;

// A session driven in-process: lines in, parsed lines out.
class Harness {
 public:
  explicit Harness(std::vector<Tool> tools = {}, LogLevel level = LogLevel::kInfo,
                   TaskSource* tasks = nullptr, ResourceSource* resources = nullptr)
      : session_(
            {"pvt", "0.1.0", "test instructions"}, std::move(tools),
            [this](std::string_view line) {
              std::lock_guard lock(mutex_);
              EXPECT_EQ(line.back(), '\n');
              EXPECT_EQ(line.find('\n'), line.size() - 1) << "one message per line";
              out_.push_back(json::parse(line));
              // The CPU priority of the thread that wrote it (each reply is written by its call's thread).
              const json& m = out_.back();
              if (m.contains("id") && !m.contains("method"))
                sender_nice_[m["id"].dump()] = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
              cv_.notify_all();
            },
            level, tasks, resources) {}

  McpSession& session() { return session_; }
  void raw(std::string_view line) { session_.handle_line(line); }
  void send(const json& j) { session_.handle_line(j.dump()); }
  void send(const char*) = delete;  // raw lines go through raw()

  std::vector<json> lines() {
    std::lock_guard lock(mutex_);
    return out_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    out_.clear();
  }
  // The nice value of the thread that sent the reply to `id` (after reply() returned it).
  int reply_sender_nice(const json& id) {
    std::lock_guard lock(mutex_);
    return sender_nice_.at(id.dump());
  }
  // The reply to request `id` (waits for it).
  json reply(const json& id, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    json found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& l : out_)
        if (l.contains("id") && l["id"] == id && !l.contains("method")) {
          found = l;
          return true;
        }
      return false;
    });
    return found;
  }
  json request(const json& id, const std::string& method, json params = json::object()) {
    send(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
    return reply(id);
  }
  void initialize(const std::string& version = "2025-06-18") {
    auto r = request(0, "initialize",
                     {{"protocolVersion", version},
                      {"capabilities", json::object()},
                      {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
    ASSERT_TRUE(r.contains("result")) << r;
    raw(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<json> out_;
  std::map<std::string, int> sender_nice_;
  McpSession session_;  // last: destroyed (and its threads joined) before what its sink uses
};

inline int error_code(const json& reply) {
  return reply.at("error").at("code").get<int>();
}

// A stand-in for the engine: encodes nothing, reports progress until released, cancelled or interrupted.
struct FakeEngine {
  std::atomic<int> started{0};
  std::atomic<bool> release{false};
  // The stand-in for pvt::g_stop_requested (JobRegistry's interrupt sets it): the job stops without its
  // cancel flag and reports `saved_dir` as kept, as the engine does.
  std::atomic<bool> interrupted{false};
  std::string saved_dir;
  std::mutex mutex;
  std::vector<TranscodeOptions> seen;  // every job's options, cancel flag included

  JobRegistry::Interrupt interrupt() {
    return [this] { interrupted = true; };
  }
  TranscodeOptions last_options() {
    std::lock_guard lock(mutex);
    return seen.empty() ? TranscodeOptions{} : seen.back();
  }
  // The options of the n-th job (1-based), waiting up to 10 s for it to start: a tool call returns
  // before the registry's thread has called the engine.
  TranscodeOptions options_of(std::size_t n) {
    for (int i = 0; i < 2000; ++i) {
      {
        std::lock_guard lock(mutex);
        if (seen.size() >= n) return seen[n - 1];
      }
      std::this_thread::sleep_for(5ms);
    }
    ADD_FAILURE() << "job " << n << " never started";
    return {};
  }
  JobRegistry::Runner runner() {
    return [this](const TranscodeOptions& o, const ProgressFn& progress, const WarnFn&, SavedJob* saved) {
      ++started;
      {
        std::lock_guard lock(mutex);
        seen.push_back(o);
      }
      JobProgress p;
      p.stage = "encode";
      p.frames_total = 100;
      if (o.quality.target > 0) p.segment_quality[0] = {24.5, o.quality.target};
      for (int i = 0; !release; ++i) {
        if (o.cancel && *o.cancel) throw Error(ErrorCode::kInterrupted, "interrupted");
        if (interrupted) {
          if (saved && !saved_dir.empty()) *saved = SavedJob{saved_dir, 2, 5};
          throw Error(ErrorCode::kInterrupted, "interrupted");
        }
        p.frames_done = std::min(i, 100);
        p.elapsed_s = i * 0.01;
        progress(p);
        std::this_thread::sleep_for(5ms);
      }
      if (o.input == "bad") throw Error(ErrorCode::kInput, "bad: not a video");
      TranscodeSummary s;
      s.output = o.output;
      s.files = {o.output};
      s.frames = 100;
      s.format = "mp4";
      return s;
    };
  }
};

// The six pvt tools in-process over a temporary output directory, the engine replaced by the stand-in.
class ToolsFixture : public ::testing::Test {
 protected:
  test::TempDir tmp;
  ServerConfig config;
  FakeEngine engine;
  Logger logger{LogLevel::kError};
  std::unique_ptr<JobRegistry> jobs;
  std::unique_ptr<OutputSandbox> sandbox;
  std::unique_ptr<ToolEnv> env;
  std::unique_ptr<JobTasks> tasks;
  std::unique_ptr<JobResources> resources;
  std::unique_ptr<Harness> h;

  // with_interrupt: shutdown interrupts the jobs (they keep their state, as in the server) instead of
  // cancelling them.
  // protocol: what the client asks for at initialize (tasks need 2025-11-25).
  void start_tools(bool with_interrupt, const std::string& protocol = "2025-06-18") {
    config.output_dir = (tmp.path() / "out").string();
    prepare_output_dir(config);
    jobs = std::make_unique<JobRegistry>(1, engine.runner(), &logger,
                                         with_interrupt ? engine.interrupt() : JobRegistry::Interrupt{});
    sandbox = std::make_unique<OutputSandbox>(config.output_dir);
    env = std::make_unique<ToolEnv>(ToolEnv{config, *sandbox, *jobs, logger});
    tasks = std::make_unique<JobTasks>(*env);
    resources = std::make_unique<JobResources>(*env);
    h = std::make_unique<Harness>(make_pvt_tools(*env), LogLevel::kInfo, tasks.get(), resources.get());
    h->initialize(protocol);
  }
  void TearDown() override {
    engine.release = true;
    h.reset();
    jobs.reset();
  }
  json call(const std::string& tool, json args) {
    static int id = 100;
    return h->request(++id, "tools/call", {{"name", tool}, {"arguments", std::move(args)}})["result"];
  }
  static std::string text(const json& r) { return r["content"][0]["text"].get<std::string>(); }
};

}  // namespace pvt::mcp
