// Helpers for the analysis-backend tests: synthetic luma planes, running a backend over a sequence of
// frames, and comparing two backends' results (integers exactly, derived floats within 1e-6 relative).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <vector>

#include "kernel_factory.hpp"
#include "luma_analyzer.hpp"

namespace pvt::kernels {

// Test names and failure messages say "vulkan", not "4-byte object".
void PrintTo(BackendKind kind, std::ostream* os);

}  // namespace pvt::kernels

namespace pvt::kernels::test {

// A luma plane in host memory: 8-bit samples for bits <= 8, else 16-bit (values as given).
struct SyntheticFrame {
  SyntheticFrame(int w, int h, int bits, int pad_samples);
  int width, height, bits;
  std::ptrdiff_t stride;  // bytes
  std::vector<std::uint8_t> data;
  bool continues = true;  // the frame before it in the sequence is its predecessor

  void set(int x, int y, int v);
  int get(int x, int y) const;
  LumaView view() const { return {data.data(), stride, width, height, bits}; }
  AnalysisFrame analysis_frame(std::int64_t tag) const;
};
using Frames = std::vector<SyntheticFrame>;

// Opens a GPU backend into `out`, or skips the test saying why (not built, no device). Call from SetUp.
void open_gpu_backend_or_skip(BackendKind kind, std::shared_ptr<AnalysisBackend>& out);

// Submits every frame (keep_plane set), polling as it goes, then flushes.
std::vector<AnalysisResult> run_backend(AnalysisBackend& backend, const Frames& frames, int max_batch);

void expect_same_results(const std::vector<AnalysisResult>& reference,
                         const std::vector<AnalysisResult>& got);

}  // namespace pvt::kernels::test
