// The writer side of the job <-> worker contracts: any SegmentDescriptor and WorkerStats the job or a
// worker can hold is written (to_json + write_json_file) and read back (read_descriptor,
// read_worker_stats). The result must be exactly what was written when it passes the reader's checks,
// and a pvt::Error otherwise — never a writer that throws, or a file the reader misreads.
//
// Paths are arbitrary bytes (a file name need not be UTF-8); the names pvt itself puts in the contracts
// (job id, backends, codec, preset, pixel format) are printable ASCII; numbers are anything their type
// holds except non-finite doubles, which no measurement produces.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "fuzz_support.hpp"
#include "segment_descriptor.hpp"

namespace {

std::string name(FuzzedDataProvider& in) {
  std::string s = in.ConsumeRandomLengthString(24);
  for (char& c : s) c = static_cast<char>(' ' + static_cast<unsigned char>(c) % 95);
  return s;
}

std::string path(FuzzedDataProvider& in) {
  return in.ConsumeRandomLengthString(64);
}

double finite(FuzzedDataProvider& in) {
  const double v = in.ConsumeFloatingPoint<double>();
  return std::isfinite(v) ? v : 0.0;
}

// Mostly small values (so the consistency checks pass often), sometimes anything the type holds.
template <typename T>
T integer(FuzzedDataProvider& in) {
  if (in.ConsumeBool()) return in.ConsumeIntegralInRange<T>(-2, 1000);
  return in.ConsumeIntegral<T>();
}

std::vector<int> frames(FuzzedDataProvider& in) {
  std::vector<int> v(in.ConsumeIntegralInRange<std::size_t>(0, 8));
  for (int& f : v) f = integer<int>(in);
  return v;
}

pvt::SegmentDescriptor descriptor(FuzzedDataProvider& in) {
  pvt::SegmentDescriptor d;
  if (in.ConsumeBool()) d.version = integer<int>(in);
  d.job_id = name(in);
  d.segment = integer<int>(in);
  d.input = path(in);
  d.video_stream = integer<int>(in);
  d.start_frame = integer<int>(in);
  d.end_frame = integer<int>(in);
  d.start_pts = integer<std::int64_t>(in);
  d.end_pts = integer<std::int64_t>(in);
  d.time_base_num = integer<int>(in);
  d.time_base_den = integer<int>(in);
  d.seek_keyframe = integer<int>(in);
  d.seek_pts = integer<std::int64_t>(in);
  d.seek_dts = in.ConsumeBool() ? std::numeric_limits<std::int64_t>::min() : integer<std::int64_t>(in);
  d.frame_rate_num = integer<int>(in);
  d.frame_rate_den = integer<int>(in);
  d.encoder.backend = name(in);
  d.encoder.codec = name(in);
  d.encoder.fallback_from = name(in);
  d.encoder.preset = name(in);
  d.encoder.crf = integer<int>(in);
  d.encoder.bitrate = integer<std::int64_t>(in);
  d.encoder.threads = integer<int>(in);
  d.encoder.lookahead = integer<int>(in);
  d.encoder.pix_fmt = name(in);
  d.forced_keyframes = frames(in);
  d.lookahead_window = integer<int>(in);
  d.detect_scenes = in.ConsumeBool();
  d.scene_threshold = finite(in);
  d.min_scene_frames = integer<int>(in);
  d.analysis_backend = name(in);
  d.bit_budget = integer<std::int64_t>(in);
  d.output = path(in);
  d.stats = path(in);
  return d;
}

// The reader's own checks (segment_descriptor.cpp), restated: what it must accept.
bool acceptable(const pvt::SegmentDescriptor& d) {
  return d.version == pvt::kDescriptorVersion && d.end_frame > d.start_frame && d.start_frame >= 0 &&
         d.seek_keyframe <= d.start_frame && d.time_base_num > 0 && d.time_base_den > 0 &&
         d.end_pts > d.start_pts && d.frame_rate_num > 0 && d.frame_rate_den > 0;
}

pvt::WorkerStats stats(FuzzedDataProvider& in) {
  pvt::WorkerStats s;
  if (in.ConsumeBool()) s.version = integer<int>(in);
  s.segment = integer<int>(in);
  s.backend = name(in);
  s.frames = integer<int>(in);
  s.decoded_frames = integer<std::int64_t>(in);
  s.bytes = integer<std::int64_t>(in);
  s.first_pts = integer<std::int64_t>(in);
  s.encode_seconds = finite(in);
  s.cpu_seconds = finite(in);
  s.keyframes = frames(in);
  s.detected_cuts = frames(in);
  s.mean_spatial = finite(in);
  s.mean_temporal = finite(in);
  s.analysis_kernel = name(in);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string descriptor_file = (pvt::fuzz::temp_dir() / "descriptor.json").string();
  static const std::string stats_file = (pvt::fuzz::temp_dir() / "stats.json").string();
  FuzzedDataProvider in(data, size);

  const pvt::SegmentDescriptor d = descriptor(in);
  pvt::write_json_file(descriptor_file, nlohmann::json(d));
  try {
    const pvt::SegmentDescriptor back = pvt::read_descriptor(descriptor_file);
    PVT_FUZZ_CHECK(acceptable(d), "the reader accepted a descriptor its checks should refuse");
    PVT_FUZZ_CHECK(back == d, "descriptor changed through write + read");
  } catch (const pvt::Error&) {
    PVT_FUZZ_CHECK(!acceptable(d), "the reader refused a descriptor the job wrote");
  }

  const pvt::WorkerStats s = stats(in);
  pvt::write_json_file(stats_file, nlohmann::json(s));
  try {
    const pvt::WorkerStats back = pvt::read_worker_stats(stats_file);
    PVT_FUZZ_CHECK(s.version == pvt::kWorkerStatsVersion, "the reader accepted another stats version");
    PVT_FUZZ_CHECK(back == s, "stats changed through write + read");
  } catch (const pvt::Error&) {
    PVT_FUZZ_CHECK(s.version != pvt::kWorkerStatsVersion, "the reader refused stats a worker wrote");
  }
  return 0;
}
