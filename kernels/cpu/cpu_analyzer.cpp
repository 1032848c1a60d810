// The reference kernel behind the streaming contract: synchronous, so every result is ready as soon as
// submit returns. It is also what FallbackAnalyzer switches to when a GPU fails.
#include <deque>

#include "luma_analyzer.hpp"

namespace pvt::kernels {

namespace {

class CpuAnalyzer final : public LumaAnalyzer {
 public:
  const char* name() const override { return "cpu"; }
  bool accepts(FrameMemory memory) const override { return memory == FrameMemory::kHost; }

  void submit(const AnalysisFrame& frame) override {
    const int factor =
        frame.factor > 0 ? frame.factor : reduction_factor(frame.luma.width, frame.luma.height);
    ReducedLuma& cur = planes_[cur_];
    kernel_->reduce(frame.luma, factor, cur);
    AnalysisResult r;
    r.tag = frame.tag;
    r.measure = kernel_->measure(cur, frame.continues && have_prev_ ? &planes_[1 - cur_] : nullptr);
    if (frame.keep_plane) r.plane = cur;
    ready_.push_back(std::move(r));
    have_prev_ = true;
    cur_ = 1 - cur_;
  }

  std::size_t poll(std::vector<AnalysisResult>& out) override {
    const std::size_t n = ready_.size();
    for (auto& r : ready_) out.push_back(std::move(r));
    ready_.clear();
    return n;
  }

  void flush(std::vector<AnalysisResult>& out) override { poll(out); }
  std::size_t pending() const override { return ready_.size(); }

 private:
  std::unique_ptr<LumaKernel> kernel_ = make_cpu_kernel();
  ReducedLuma planes_[2];
  int cur_ = 0;
  bool have_prev_ = false;
  std::deque<AnalysisResult> ready_;
};

class CpuBackend final : public AnalysisBackend {
 public:
  const char* name() const override { return "cpu"; }
  std::string device() const override { return "CPU reference kernel"; }
  bool asynchronous() const override { return false; }
  std::unique_ptr<LumaAnalyzer> make_analyzer(int) override { return std::make_unique<CpuAnalyzer>(); }
};

}  // namespace

std::shared_ptr<AnalysisBackend> make_cpu_backend() {
  return std::make_shared<CpuBackend>();
}

}  // namespace pvt::kernels
