// What the scene detector reads from one frame: the kernels' integers (histogram, difference to the
// previous frame) turned into the few numbers the cut rules compare. Derived here, from the integers only,
// so every analysis backend gives the detector exactly the same input.
#pragma once

#include "luma_kernel.hpp"

namespace pvt {

struct SceneSignal {
  int frame = 0;
  bool valid = false;  // false: the frame was not decoded (nothing below is meaningful)
  kernels::Histogram histogram{};
  double mean_luma = 0;       // from the histogram's bin centres (0..255)
  double dark = 0;            // fraction of samples below 32: a black frame is nearly all of them
  double bright = 0;          // fraction at 224 and above: a white frame
  bool has_previous = false;  // the frame before was decoded and measured: the differences below exist
  double hist_diff = 0;       // histogram difference to the previous frame (0..1): the classic scene score
  double shifted_diff = 0;    // the same after the best brightness shift (±12 bins): small for light changes
  double excess_diff = 0;     // mean absolute difference to the previous frame beyond the change of mean
                              // luma: pixels that changed other than by getting lighter or darker
  double strong_change = 0;   // fraction of samples that moved by more than kernels::kStrongChange levels:
                              // something in the picture replaced, however small a part of it
};

// The signal of a frame from its measurement and the previous frame's signal (null or invalid: none).
SceneSignal scene_signal(int frame, const kernels::FrameMeasure& m, const SceneSignal* previous);

// A frame that could not be decoded.
SceneSignal missing_signal(int frame);

// Half the L1 distance of two histograms after moving `a` by `shift` bins (samples pushed past either end
// pile up in the end bin, as clipping does).
double shifted_histogram_difference(const kernels::Histogram& a, const kernels::Histogram& b, int shift);

}  // namespace pvt
