// A picture of a job's encode stage: one row per worker slot, one bar per segment from when its worker
// took it to when it was written, labelled with the segment and coloured by backend, so imbalance (a
// long last segment, a worker idle at the end) shows at a glance. `pvt transcode --timeline FILE.svg`.
#pragma once

#include <string>

#include "transcode_job.hpp"

namespace pvt {

std::string timeline_svg(const TranscodeSummary& summary);

}  // namespace pvt
