// --analysis-backend and `pvt caps` through the pvt binary: the report says what was found and why, a GPU
// backend gives the CPU's cuts, and a GPU failure (injected with PVT_ANALYSIS_FAULT) at start-up or
// mid-stream costs one warning line and changes no result.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "analysis_backend.hpp"
#include "test_support.hpp"

namespace pvt {
namespace {

using nlohmann::json;

bool vulkan_usable() {
  return kernels::probe_backend(kernels::BackendKind::kVulkan).usable;
}

std::string vulkan_missing() {
  return "Vulkan not usable here: " + kernels::probe_backend(kernels::BackendKind::kVulkan).reason;
}

int warning_lines(const std::string& err) {
  std::istringstream in(err);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find("warning") != std::string::npos;
  return n;
}

json analyze(const std::string& backend, const std::vector<std::string>& env, std::string* err = nullptr) {
  const auto r = test::run_pvt({"analyze", test::scene_clip(), "--json", "--per-frame", "--progress", "none",
                                "--analysis-backend", backend},
                               env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (err) *err = r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json();
}

TEST(AnalysisBackendCli, CapsReportsEveryBackendWhatAutoPicksAndWhy) {
  const auto r = test::run_pvt({"caps", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j.at("version"), 1);
  const json& a = j.at("analysis");
  EXPECT_EQ(a.at("option"), "--analysis-backend");
  std::set<std::string> names;
  for (const auto& b : a.at("backends")) {
    names.insert(b.at("name").get<std::string>());
    if (!b.at("available").get<bool>()) {
      EXPECT_FALSE(b.at("note").get<std::string>().empty()) << b.dump();  // why not
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"cpu", "cuda", "vulkan"}));
  EXPECT_TRUE(a.at("backends").at(0).at("available").get<bool>());  // the CPU kernel, always
  EXPECT_FALSE(a.at("auto_reason").get<std::string>().empty());
  // The binary and the engine agree, and a software Vulkan device (lavapipe) is never auto's choice.
  EXPECT_EQ(a.at("auto"), kernels::backend_name(probe_analysis_backends().auto_choice));
  for (const auto& b : a.at("backends")) {
    if (b.at("name") == "vulkan" && !b.at("gpu").get<bool>()) {
      EXPECT_NE(a.at("auto"), "vulkan");
    }
  }

  const auto text = test::run_pvt({"caps"});
  ASSERT_EQ(text.exit_code, 0);
  for (const char* name : {"analysis backends", "cpu", "cuda", "vulkan", "auto picks"})
    EXPECT_NE(text.out.find(name), std::string::npos) << name << " missing from:\n" << text.out;
}

TEST(AnalysisBackendCli, UnknownBackendIsAUsageError) {
  const auto r = test::run_pvt({"analyze", test::scene_clip(), "--analysis-backend", "opencl"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(AnalysisBackendCli, VulkanAnalysisGivesTheCpuReport) {
  if (!vulkan_usable()) GTEST_SKIP() << vulkan_missing();
  const json cpu = analyze("cpu", {});
  std::string err;
  const json vk = analyze("vulkan", {}, &err);
  EXPECT_EQ(warning_lines(err), 0) << err;
  EXPECT_EQ(cpu.at("analysis").at("kernel"), "cpu");
  EXPECT_EQ(vk.at("analysis").at("kernel"), "vulkan");
  EXPECT_TRUE(vk.at("analysis").at("fallback").is_null());
  EXPECT_EQ(vk.at("scene_cuts"), cpu.at("scene_cuts"));
  EXPECT_EQ(vk.at("frames"), cpu.at("frames"));
  EXPECT_EQ(vk.at("scenes"), cpu.at("scenes"));
}

TEST(AnalysisBackendCli, GpuFailureMidStreamIsOneWarningAndTheSameResults) {
  if (!vulkan_usable()) GTEST_SKIP() << vulkan_missing();
  const json cpu = analyze("cpu", {});
  std::string err;
  const json vk = analyze("vulkan", {"PVT_ANALYSIS_FAULT=30"}, &err);
  EXPECT_EQ(warning_lines(err), 1) << err;
  EXPECT_NE(err.find("PVT_ANALYSIS_FAULT"), std::string::npos) << err;
  EXPECT_EQ(vk.at("analysis").at("kernel"), "cpu");
  EXPECT_NE(vk.at("analysis").at("fallback").get<std::string>().find("vulkan"), std::string::npos);
  EXPECT_EQ(vk.at("scene_cuts"), cpu.at("scene_cuts"));
  EXPECT_EQ(vk.at("frames"), cpu.at("frames"));
}

TEST(AnalysisBackendCli, GpuFailureAtStartUpIsOneWarningAndTheCpuKernel) {
  const json cpu = analyze("cpu", {});
  for (const char* backend : {"vulkan", "cuda"}) {
    std::string err;
    const json j = analyze(backend, {"PVT_ANALYSIS_FAULT=start"}, &err);
    EXPECT_EQ(warning_lines(err), 1) << backend << ": " << err;
    EXPECT_EQ(j.at("analysis").at("kernel"), "cpu") << backend;
    EXPECT_EQ(j.at("frames"), cpu.at("frames")) << backend;
  }
}

TEST(AnalysisBackendCli, MissingCudaFallsBackToTheCpuSayingWhy) {
  const auto probe = kernels::probe_backend(kernels::BackendKind::kCuda);
  if (probe.usable) GTEST_SKIP() << "this machine has a CUDA device (" << probe.device << ")";
  std::string err;
  const json j = analyze("cuda", {}, &err);
  EXPECT_EQ(warning_lines(err), 1) << err;
  EXPECT_NE(err.find("cuda"), std::string::npos) << err;
  EXPECT_EQ(j.at("analysis").at("kernel"), "cpu");
  EXPECT_EQ(j.at("analysis").at("decoder"), "cpu");
}

json transcode(const std::string& backend, const std::vector<std::string>& env, const test::TempDir& dir) {
  const auto r = test::run_pvt(
      {"transcode", test::scene_clip(), "-o", dir / (backend + ".mp4"), "--preset", "ultrafast",
       "--segment-duration", "4", "--analysis-backend", backend, "--json", "--progress", "none", "-y"},
      env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json();
}

TEST(AnalysisBackendCli, TranscodeWorkersRunTheBackendAndFallBackAlone) {
  if (!vulkan_usable()) GTEST_SKIP() << vulkan_missing();
  test::TempDir dir;
  const json cpu = transcode("cpu", {}, dir);
  const json vk = transcode("vulkan", {}, dir);
  const json failing = transcode("vulkan", {"PVT_ANALYSIS_FAULT=20"}, dir);
  EXPECT_EQ(cpu.at("analysis_backend"), "cpu");
  EXPECT_EQ(vk.at("analysis_backend"), "vulkan");
  ASSERT_EQ(vk.at("segments").size(), cpu.at("segments").size());
  ASSERT_EQ(failing.at("segments").size(), cpu.at("segments").size());
  for (std::size_t i = 0; i < cpu.at("segments").size(); ++i) {
    const json& c = cpu.at("segments")[i];
    EXPECT_EQ(c.at("analysis_kernel"), "cpu");
    EXPECT_EQ(vk.at("segments")[i].at("analysis_kernel"), "vulkan");
    // Each worker's GPU stream breaks at its 20th frame and the worker finishes on the CPU.
    EXPECT_EQ(failing.at("segments")[i].at("analysis_kernel"), "cpu");
    for (const json* other : {&vk, &failing}) {
      EXPECT_EQ(other->at("segments")[i].at("detected_cuts"), c.at("detected_cuts")) << i;
      EXPECT_EQ(other->at("segments")[i].at("idr_frames"), c.at("idr_frames")) << i;
    }
  }
  EXPECT_EQ(failing.at("verified").at("frames"), cpu.at("verified").at("frames"));
}

}  // namespace
}  // namespace pvt
