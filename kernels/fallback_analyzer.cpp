#include "fallback_analyzer.hpp"

#include "gpu_error.hpp"

namespace pvt::kernels {

FallbackAnalyzer::FallbackAnalyzer(std::unique_ptr<LumaAnalyzer> primary, Warn warn)
    : primary_(std::move(primary)), warn_(std::move(warn)), primary_name_(primary_->name()) {}

const char* FallbackAnalyzer::name() const {
  return cpu_ ? cpu_->name() : primary_->name();
}

bool FallbackAnalyzer::accepts(FrameMemory memory) const {
  return cpu_ ? cpu_->accepts(memory) : primary_->accepts(memory);
}

void FallbackAnalyzer::submit(const AnalysisFrame& frame) {
  if (cpu_) return cpu_->submit(frame);
  in_flight_.push_back(frame);
  try {
    primary_->submit(frame);
  } catch (const std::exception& e) {
    fail_over(e.what());
  }
}

std::size_t FallbackAnalyzer::take(std::vector<AnalysisResult>& results, std::vector<AnalysisResult>& out) {
  for (auto& r : results) {
    if (in_flight_.empty() || in_flight_.front().tag != r.tag)
      throw GpuError(primary_name_ + " analyzer returned frame " + std::to_string(r.tag) + " out of order");
    anchor_ = std::move(in_flight_.front());
    in_flight_.pop_front();
    out.push_back(std::move(r));
  }
  return results.size();
}

std::size_t FallbackAnalyzer::poll(std::vector<AnalysisResult>& out) {
  if (!cpu_) {
    std::vector<AnalysisResult> got;
    try {
      primary_->poll(got);
      return take(got, out);
    } catch (const std::exception& e) {
      fail_over(e.what());
    }
  }
  return cpu_->poll(out);
}

void FallbackAnalyzer::flush(std::vector<AnalysisResult>& out) {
  if (!cpu_) {
    std::vector<AnalysisResult> got;
    try {
      primary_->flush(got);
      take(got, out);
      return;
    } catch (const std::exception& e) {
      fail_over(e.what());
    }
  }
  cpu_->flush(out);
}

std::size_t FallbackAnalyzer::pending() const {
  return cpu_ ? cpu_->pending() : primary_->pending();
}

void FallbackAnalyzer::fail_over(const std::string& reason) {
  failure_ = primary_name_ + ": " + reason;
  // The primary may hold a lost device: drop it before anything else touches the GPU.
  primary_.reset();
  cpu_ = make_cpu_backend()->make_analyzer();
  const bool need_anchor = !in_flight_.empty() && in_flight_.front().continues && anchor_;
  bool on_device = need_anchor && anchor_->memory != FrameMemory::kHost;
  for (const auto& f : in_flight_) on_device = on_device || f.memory != FrameMemory::kHost;
  if (warn_)
    warn_(primary_name_ + " analysis kernel failed (" + reason + "); continuing with the CPU kernel");
  if (on_device)
    throw GpuError(failure_ + " (the frames in flight are in GPU memory and must be decoded again)");
  if (need_anchor) {
    // Only its reduced plane is wanted, as the previous frame of the first one recomputed.
    AnalysisFrame a = *anchor_;
    a.keep_plane = false;
    cpu_->submit(a);
    std::vector<AnalysisResult> discard;
    cpu_->poll(discard);
  }
  for (const auto& f : in_flight_) cpu_->submit(f);
  in_flight_.clear();
  anchor_.reset();
}

}  // namespace pvt::kernels
