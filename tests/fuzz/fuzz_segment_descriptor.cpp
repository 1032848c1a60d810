// A segment descriptor file as `pvt worker DESCRIPTOR.json` reads it (read_descriptor), from arbitrary
// bytes. It must either return a descriptor or throw pvt::Error naming the problem; anything else
// (another exception, a crash, a sanitizer report) is a bug. A descriptor it accepts must satisfy the
// checks the worker relies on and come back unchanged through the writer (write_json_file) and the
// reader again.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "fuzz_support.hpp"
#include "segment_descriptor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string in = (pvt::fuzz::temp_dir() / "descriptor.json").string();
  static const std::string again = (pvt::fuzz::temp_dir() / "descriptor-again.json").string();
  pvt::fuzz::write_file(in, pvt::fuzz::as_text(data, size));
  pvt::SegmentDescriptor d;
  try {
    d = pvt::read_descriptor(in);
  } catch (const pvt::Error&) {
    return 0;  // refused with a message: what the worker turns into its exit code
  }
  PVT_FUZZ_CHECK(d.version == pvt::kDescriptorVersion, "accepted another descriptor version");
  PVT_FUZZ_CHECK(d.frame_count() > 0 && d.start_frame >= 0 && d.seek_keyframe <= d.start_frame,
                 "accepted an empty or inconsistent frame range");
  PVT_FUZZ_CHECK(d.time_base_num > 0 && d.time_base_den > 0 && d.frame_rate_num > 0 && d.frame_rate_den > 0,
                 "accepted a zero or negative rational");
  // What the job writes, the worker reads back exactly.
  pvt::write_json_file(again, nlohmann::json(d));
  PVT_FUZZ_CHECK(pvt::read_descriptor(again) == d, "descriptor changed through write + read");
  return 0;
}
