// The descriptor of one segment of a job's plan (segment_descriptor.hpp): what a `pvt worker` needs to
// encode it. Shared by the schedule stage, which writes it just before each worker starts, and by
// `pvt plan --emit`, which writes every one ahead for a cluster scheduler to run.
#pragma once

#include "segment_descriptor.hpp"
#include "segment_plan.hpp"
#include "stage_probe.hpp"

namespace pvt {

struct JobContext;

// Paths are the job's as seen here (job.input_path, the job folder); the encoder backend is the CPU
// slots' (a slot that runs it on a hardware session rewrites it).
SegmentDescriptor describe_segment(const JobContext& job, const ProbeResult& probe, const Plan& plan,
                                   const Segment& seg);

}  // namespace pvt
