// The encode-stage timeline of timeline_svg.hpp as a raster image: one row per worker slot, one bar per
// segment from when its worker took it to when it was written, coloured by backend, labelled with the
// segment index where the bar is wide enough, over a time axis. For clients that show images but not SVG.
#pragma once

#include <cstdint>
#include <vector>

#include "transcode_job.hpp"

namespace pvt {

// A PNG file (RGB). width is clamped to 320..4096; the height is 28 px per worker slot (at most 64 slots
// drawn, the lowest numbered) plus the margins and the axis. A summary without segments gives an empty
// chart of one row over a 1 s axis.
std::vector<std::uint8_t> timeline_png(const TranscodeSummary& summary, int width = 960);

}  // namespace pvt
