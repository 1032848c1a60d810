#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "segment_descriptor.hpp"

namespace pvt {
namespace {

SegmentDescriptor sample() {
  SegmentDescriptor d;
  d.job_id = "job-1";
  d.segment = 3;
  d.input = "/media/in put \"quoted\".mp4";
  d.video_stream = 1;
  d.start_frame = 250;
  d.end_frame = 553;
  d.start_pts = 128000;
  d.end_pts = 283136;
  d.time_base_num = 1;
  d.time_base_den = 12288;
  d.seek_keyframe = 250;
  d.seek_pts = 128000;
  d.seek_dts = -1024;
  d.frame_rate_num = 24000;
  d.frame_rate_den = 1001;
  d.encoder.backend = "x265";
  d.encoder.codec = "hevc";
  d.encoder.fallback_from = "nvenc";
  d.encoder.preset = "veryfast";
  d.encoder.bitrate = 1234567;
  d.encoder.threads = 2;
  d.forced_keyframes = {300, 410};
  d.lookahead_window = 25;
  d.encoder.lookahead = 60;
  d.encoder.preroll = 6;
  d.detect_scenes = false;
  d.scene_threshold = 0.42;
  d.min_scene_frames = 7;
  d.analysis_backend = "vulkan";
  d.bit_budget = 99999999999;
  d.output = "/tmp/seg_00003.mp4";
  d.stats = "/tmp/seg_00003.json";
  // A ladder whose lower rung has the CRF its own target-quality search found.
  d.ladder = {{720, d.output, 3000000}, {360, "/tmp/seg_00003_r1.mp4", 800000, 27.5}};
  d.quality.metric = "ssim";
  d.quality.target = 0.97;
  d.quality.tolerance = 0.002;
  d.quality.probe_offsets = {-0.25, 0.125};  // learned per rung from the job's finished segments
  return d;
}

TEST(SegmentDescriptor, RoundTripsThroughJson) {
  const SegmentDescriptor d = sample();
  const nlohmann::json j = d;
  EXPECT_EQ(j.at("version"), kDescriptorVersion);
  const auto back = nlohmann::json::parse(j.dump()).get<SegmentDescriptor>();
  EXPECT_EQ(back, d);
  EXPECT_EQ(nlohmann::json(back), j);
}

TEST(SegmentDescriptor, RejectsOtherVersions) {
  nlohmann::json j = sample();
  j["version"] = 99;
  EXPECT_THROW(j.get<SegmentDescriptor>(), Error);
}

TEST(SegmentDescriptor, RejectsEmptyOrInconsistentRanges) {
  nlohmann::json j = sample();
  j["end_frame"] = j["start_frame"];
  EXPECT_THROW(j.get<SegmentDescriptor>(), Error);
  j = sample();
  j["seek_keyframe"] = 400;  // after the start: frames would be lost
  EXPECT_THROW(j.get<SegmentDescriptor>(), Error);
}

TEST(SegmentDescriptor, CarriesTheAnalysisBackendForTheWorker) {
  const nlohmann::json j = sample();
  EXPECT_EQ(j.at("analysis_backend"), "vulkan");
  nlohmann::json without = j;
  without.erase("analysis_backend");  // as version 1 wrote them: the worker would not know its kernels
  EXPECT_ANY_THROW(without.get<SegmentDescriptor>());
}

TEST(SegmentDescriptor, MissingFieldIsAnError) {
  nlohmann::json j = sample();
  j.erase("output");
  EXPECT_ANY_THROW(j.get<SegmentDescriptor>());
}

// Found by tests/fuzz/fuzz_segment_descriptor: nlohmann casts any number to an int, and 1e300 into an
// int is undefined behaviour.
TEST(SegmentDescriptor, RefusesNumbersThatDoNotFitTheirField) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{{"segment", 1e300},
                                                           {"start_frame", 4294967296LL},
                                                           {"forced_keyframes", {600, 2.5}},
                                                           {"scene_threshold", nullptr},
                                                           {"seek_pts", 18446744073709551615ULL},
                                                           {"detect_scenes", 1}}) {
    nlohmann::json j = sample();
    j[key] = value;
    EXPECT_THROW(j.get<SegmentDescriptor>(), std::exception) << key;
  }
  // A CRF may be fractional (target quality searches them), but it must be a finite number.
  nlohmann::json j = sample();
  j["encoder"]["crf"] = 23.5;
  EXPECT_DOUBLE_EQ(j.get<SegmentDescriptor>().encoder.crf, 23.5);
  j["encoder"]["crf"] = "23";
  EXPECT_THROW(j.get<SegmentDescriptor>(), Error);
}

// Found by tests/fuzz/fuzz_contracts_roundtrip: a file name need not be UTF-8, a JSON string must be.
TEST(SegmentDescriptor, PathsThatAreNotUtf8RoundTripAsBytes) {
  SegmentDescriptor d = sample();
  d.input = "/media/caf\xe9.mp4";
  d.output = "/tmp/\xff\xfe/seg_00003.mp4";
  const nlohmann::json j = d;
  EXPECT_TRUE(j.at("input").is_array());
  EXPECT_TRUE(j.at("stats").is_string());  // valid UTF-8 stays a string, as before
  const auto back = nlohmann::json::parse(j.dump()).get<SegmentDescriptor>();
  EXPECT_EQ(back, d);
  nlohmann::json bad = j;
  bad["input"] = {47, 256};
  EXPECT_THROW(bad.get<SegmentDescriptor>(), Error);
}

TEST(WorkerStats, RoundTripsThroughJson) {
  WorkerStats s;
  s.segment = 2;
  s.backend = "x264";
  s.frames = 303;
  s.decoded_frames = 310;
  s.bytes = 123456;
  s.first_pts = 128000;
  s.encode_seconds = 1.5;
  s.cpu_seconds = 1.25;
  s.keyframes = {250, 378};
  s.detected_cuts = {378};
  s.mean_spatial = 12.5;
  s.mean_temporal = 3.25;
  s.analysis_kernel = "cuda";
  QualityResult q;
  q.metric = "ssim";
  q.pool = "mean";
  q.target = 0.97;
  q.crf = 24.5;
  q.score = 0.9695;
  q.probes = {{23, 0.972, true}, {25, 0.969, false}};
  q.limited_by_cap = true;
  q.probe_offset = -0.375;
  s.quality = q;
  s.ladder = {{1280, 720, 303, 100000, q}, {640, 360, 303, 23456, {}}};
  const nlohmann::json j = s;
  EXPECT_EQ(nlohmann::json::parse(j.dump()).get<WorkerStats>(), s);
  nlohmann::json bad = j;
  bad["frames"] = -1e19;
  EXPECT_THROW(bad.get<WorkerStats>(), Error);
}

}  // namespace
}  // namespace pvt
