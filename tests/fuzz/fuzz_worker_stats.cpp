// A worker's stats file as the job reads it (read_worker_stats), from arbitrary bytes: a stats file is
// written by a separate process that may have died half-way. It must either return stats or throw
// pvt::Error; stats it accepts must come back unchanged through the worker's writer and the reader.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "fuzz_support.hpp"
#include "segment_descriptor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string in = (pvt::fuzz::temp_dir() / "stats.json").string();
  static const std::string again = (pvt::fuzz::temp_dir() / "stats-again.json").string();
  pvt::fuzz::write_file(in, pvt::fuzz::as_text(data, size));
  pvt::WorkerStats s;
  try {
    s = pvt::read_worker_stats(in);
  } catch (const pvt::Error&) {
    return 0;  // the job records the segment as failed, with this message
  }
  PVT_FUZZ_CHECK(s.version == pvt::kWorkerStatsVersion, "accepted another stats version");
  pvt::write_json_file(again, nlohmann::json(s));
  PVT_FUZZ_CHECK(pvt::read_worker_stats(again) == s, "stats changed through write + read");
  return 0;
}
