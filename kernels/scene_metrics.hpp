// Floats derived from a kernel's integer measurements. One definition for every backend, so that the
// backends only have to agree on integers.
#pragma once

#include "luma_kernel.hpp"

namespace pvt::kernels {

// Scene score: half the L1 distance between two normalised histograms, in [0, 1]. 0 means the same
// luma distribution, 1 means no overlap at all.
double histogram_difference(const Histogram& a, const Histogram& b);

// Mean absolute gradient per reduced pixel (0..510): how much detail a frame has (intra cost).
double spatial_complexity(const FrameMeasure& m);

// Mean absolute difference to the previous frame per reduced pixel (0..255): how much changes (inter cost).
// 0 when the frame has no previous frame.
double temporal_complexity(const FrameMeasure& m);

}  // namespace pvt::kernels
