// A GPU analyzer that fails mid-stream: FallbackAnalyzer must warn once and hand out exactly the results
// the CPU reference gives, wherever the failure strikes (submit, poll, flush) and whatever was in flight.
// The "GPU" here is a stand-in that queues frames like a real one and throws on cue, so this runs on any
// machine.
#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "fallback_analyzer.hpp"
#include "gpu_error.hpp"
#include "gpu_test_support.hpp"

namespace pvt::kernels {
namespace {

using test::Frames;
using test::SyntheticFrame;

enum class FailIn { kSubmit, kPoll, kFlush };

// Holds results back in batches of `batch` (like a GPU queue) and throws GpuError at the chosen call.
class FlakyAnalyzer final : public LumaAnalyzer {
 public:
  FlakyAnalyzer(int batch, FailIn where, int after_frames)
      : batch_(batch), where_(where), after_(after_frames) {}
  const char* name() const override { return "flaky"; }
  bool accepts(FrameMemory) const override { return true; }
  void submit(const AnalysisFrame& f) override {
    if (where_ == FailIn::kSubmit && submitted_ >= after_) throw GpuError("device lost in submit");
    ++submitted_;
    AnalysisFrame copy = f;
    copy.memory = FrameMemory::kHost;  // the CPU inside reads host planes; the tests set memory themselves
    inner_->submit(copy);
    std::vector<AnalysisResult> r;
    inner_->poll(r);
    for (auto& x : r) held_.push_back(std::move(x));
  }
  std::size_t poll(std::vector<AnalysisResult>& out) override {
    if (where_ == FailIn::kPoll && submitted_ >= after_) throw GpuError("device lost in poll");
    std::size_t n = 0;
    while (static_cast<int>(held_.size()) >= batch_) {
      for (int i = 0; i < batch_; ++i, ++n) {
        out.push_back(std::move(held_.front()));
        held_.pop_front();
      }
    }
    return n;
  }
  void flush(std::vector<AnalysisResult>& out) override {
    if (where_ == FailIn::kFlush) throw GpuError("device lost in flush");
    for (auto& r : held_) out.push_back(std::move(r));
    held_.clear();
  }
  std::size_t pending() const override { return held_.size(); }

 private:
  std::unique_ptr<LumaAnalyzer> inner_ = make_cpu_backend()->make_analyzer();
  std::deque<AnalysisResult> held_;
  int batch_;
  FailIn where_;
  int after_;
  int submitted_ = 0;
};

Frames moving_frames(int n) {
  Frames frames;
  std::mt19937 rng(42);
  for (int i = 0; i < n; ++i) {
    SyntheticFrame f(720, 480, 8, 0);
    for (int y = 0; y < f.height; ++y)
      for (int x = 0; x < f.width; ++x) f.set(x, y, static_cast<int>((x + 3 * i + (rng() % 16)) % 256));
    frames.push_back(std::move(f));
  }
  return frames;
}

std::vector<AnalysisResult> run(LumaAnalyzer& a, const Frames& frames) {
  std::vector<AnalysisResult> out;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    a.submit(frames[i].analysis_frame(static_cast<std::int64_t>(i)));
    a.poll(out);
  }
  a.flush(out);
  return out;
}

TEST(FallbackAnalyzer, FailureAnywhereGivesTheCpuResultsAndOneWarning) {
  const Frames frames = moving_frames(23);
  const auto reference = test::run_backend(*make_cpu_backend(), frames, 0);
  for (FailIn where : {FailIn::kSubmit, FailIn::kPoll, FailIn::kFlush})
    for (int after : {0, 1, 5, 8, 22}) {
      SCOPED_TRACE(testing::Message() << "failure in call " << static_cast<int>(where) << " after " << after);
      std::vector<std::string> warnings;
      FallbackAnalyzer a(std::make_unique<FlakyAnalyzer>(4, where, after),
                         [&](const std::string& w) { warnings.push_back(w); });
      EXPECT_STREQ(a.name(), "flaky");
      const auto got = run(a, frames);
      test::expect_same_results(reference, got);
      ASSERT_EQ(warnings.size(), 1u);
      EXPECT_NE(warnings[0].find("device lost"), std::string::npos) << warnings[0];
      EXPECT_NE(warnings[0].find("CPU"), std::string::npos) << warnings[0];
      EXPECT_TRUE(a.fell_back());
      EXPECT_STREQ(a.name(), "cpu");
    }
}

TEST(FallbackAnalyzer, NoFailureNoWarning) {
  const Frames frames = moving_frames(9);
  int warnings = 0;
  FallbackAnalyzer a(std::make_unique<FlakyAnalyzer>(4, FailIn::kSubmit, 1000),
                     [&](const std::string&) { ++warnings; });
  test::expect_same_results(test::run_backend(*make_cpu_backend(), frames, 0), run(a, frames));
  EXPECT_EQ(warnings, 0);
  EXPECT_FALSE(a.fell_back());
}

TEST(FallbackAnalyzer, FramesInGpuMemoryCannotBeRecomputedSoItSaysSo) {
  // NVDEC frames live on the device: after a failure only the caller can decode them again.
  const Frames frames = moving_frames(6);
  FallbackAnalyzer a(std::make_unique<FlakyAnalyzer>(4, FailIn::kSubmit, 3), nullptr);
  std::vector<AnalysisResult> out;
  for (int i = 0; i < 3; ++i) {
    AnalysisFrame f = frames[i].analysis_frame(i);
    f.memory = FrameMemory::kCudaDevice;
    a.submit(f);
    a.poll(out);
  }
  AnalysisFrame f = frames[3].analysis_frame(3);
  f.memory = FrameMemory::kCudaDevice;
  EXPECT_THROW(a.submit(f), GpuError);
}

}  // namespace
}  // namespace pvt::kernels
