// HLS work grouping: a playlist's segments are what the user asked for (a few seconds each), but a worker
// task per playlist segment pays its start-up, pre-roll and an encoder's cold rate control every few
// seconds (benchmarks/worker_startup.py: 300 segments of 2 s took 1.3-1.6x plain ffmpeg's wall). So
// consecutive playlist segments are grouped into one work segment, balanced by cost like a file output's:
// the worker forces an IDR at each playlist boundary inside it (they join its forced keyframes) and the
// assembler cuts the playlist there (Segment::piece_starts).
#pragma once

#include "segment_plan.hpp"

namespace pvt {

struct GroupOptions {
  int workers = 0;
  int segments_per_worker = 4;  // work segments per worker, as for file outputs
  double max_s = 120;           // a work segment's longest span: bounds what a crash or resume redoes
};

// `pieces`: a length plan whose segments are the playlist's. The result's segments are work segments in
// order, each with the playlist boundaries inside it; unchanged when there are not more pieces than the
// workers want.
Plan group_playlist_segments(const Plan& pieces, const GroupOptions& options);

}  // namespace pvt
