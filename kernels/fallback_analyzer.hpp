// A GPU analyzer that turns into the CPU reference when the GPU fails mid-stream, with the same results.
//
// It remembers every frame whose result is not back yet (and the last one that is, whose reduced plane
// the next difference needs). When the GPU analyzer throws, it warns once, drops it, and recomputes
// those frames with the CPU kernel, so the caller sees an unbroken, identical result sequence. Frames
// that live in GPU memory cannot be recomputed that way: then it throws GpuError and the caller redoes
// the work from the source (see engine/frame_analysis.cpp).
#pragma once

#include <deque>
#include <functional>
#include <optional>

#include "luma_analyzer.hpp"

namespace pvt::kernels {

class FallbackAnalyzer final : public LumaAnalyzer {
 public:
  using Warn = std::function<void(const std::string&)>;
  FallbackAnalyzer(std::unique_ptr<LumaAnalyzer> primary, Warn warn);

  const char* name() const override;
  bool accepts(FrameMemory memory) const override;
  void submit(const AnalysisFrame& frame) override;
  std::size_t poll(std::vector<AnalysisResult>& out) override;
  void flush(std::vector<AnalysisResult>& out) override;
  std::size_t pending() const override;

  bool fell_back() const { return cpu_ != nullptr; }
  const std::string& failure() const { return failure_; }

 private:
  // Hands results from the primary out, retiring the frames they belong to.
  std::size_t take(std::vector<AnalysisResult>& results, std::vector<AnalysisResult>& out);
  void fail_over(const std::string& reason);

  std::unique_ptr<LumaAnalyzer> primary_;
  std::unique_ptr<LumaAnalyzer> cpu_;
  Warn warn_;
  std::string primary_name_;
  std::string failure_;
  std::deque<AnalysisFrame> in_flight_;  // submitted to the primary, result not back yet
  std::optional<AnalysisFrame> anchor_;  // the last frame whose result is back
};

}  // namespace pvt::kernels
