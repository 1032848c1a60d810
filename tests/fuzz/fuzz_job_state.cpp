// The job state on disk (engine/job_state.*: job.json in the job folder), from arbitrary bytes: a job
// killed at any moment, a disk that filled up, or a user's editor may have left anything there, and the
// next run of the same command (and pvt-mcp's job listing) reads it. parse_job_state must return a
// state or throw pvt::Error; a state it accepts has a plan a worker can encode, is written back by
// job_state_text without throwing and read back unchanged, and resumes against itself without a
// conflict.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "error.hpp"
#include "fuzz_support.hpp"
#include "job_state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pvt::JobState s;
  try {
    s = pvt::parse_job_state(pvt::fuzz::as_text(data, size));
  } catch (const pvt::Error&) {
    return 0;  // refused with a message: the run starts afresh or says why it cannot resume
  }
  PVT_FUZZ_CHECK(s.version == pvt::kJobStateVersion, "accepted another job state version");
  PVT_FUZZ_CHECK(s.settings.is_object(), "accepted settings that are not an object");
  for (std::size_t i = 0; i < s.plan.size(); ++i) {
    const pvt::Segment& seg = s.plan[i];
    PVT_FUZZ_CHECK(seg.index == static_cast<int>(i) && seg.frame_count() > 0 && seg.seek_keyframe >= 0 &&
                       seg.seek_keyframe <= seg.start_frame,
                   "accepted a plan segment no worker can encode");
  }
  for (const auto& f : s.finished) {
    PVT_FUZZ_CHECK(s.finished_segment(f.index) != nullptr, "finished segment not found by its index");
    PVT_FUZZ_CHECK(
        !f.file.empty() && f.file.find('/') == std::string::npos && f.file != "." && f.file != "..",
        "accepted a finished segment file name that leaves the job folder");
  }
  std::string text;
  try {
    text = pvt::job_state_text(s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "job_state_text: %s\n", e.what());
    PVT_FUZZ_CHECK(false, "a state the parser accepted cannot be written");
  }
  pvt::JobState back;
  try {
    back = pvt::parse_job_state(text);
  } catch (const pvt::Error& e) {
    std::fprintf(stderr, "parse_job_state(job_state_text(s)): %s\n", e.what());
    PVT_FUZZ_CHECK(false, "a state the parser accepted does not read back");
  }
  PVT_FUZZ_CHECK(back == s, "job state changed through write + read");
  PVT_FUZZ_CHECK(pvt::resume_conflicts(s, s.input, s.settings).empty(), "a state conflicts with itself");
  return 0;
}
