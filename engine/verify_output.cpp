#include "verify_output.hpp"

#include <cmath>
#include <cstdio>

#include "av_handles.hpp"
#include "error.hpp"

namespace pvt {

OutputReport inspect_output(const std::string& path) {
  AVFormatContext* raw = nullptr;
  check_av(avformat_open_input(&raw, path.c_str(), nullptr, nullptr), ErrorCode::kVerify, path);
  av::InputFormat fmt(raw);
  check_av(avformat_find_stream_info(fmt.get(), nullptr), ErrorCode::kVerify, path);
  const int v = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  const int a = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (v < 0) throw Error(ErrorCode::kVerify, path + ": output has no video stream");
  OutputReport r;
  r.has_audio = a >= 0;
  const AVRational vtb = fmt->streams[v]->time_base;
  const AVRational atb = a >= 0 ? fmt->streams[a]->time_base : AVRational{1, 1};
  std::int64_t min_pts = INT64_MAX, max_pts = INT64_MIN, last_dts = INT64_MIN, last_dur = 0;
  std::int64_t amin = INT64_MAX, amax = INT64_MIN, adur = 0;
  av::Packet pkt = av::make_packet();
  while (av_read_frame(fmt.get(), pkt.get()) >= 0) {
    if (pkt->stream_index == v) {
      ++r.video_frames;
      if (pkt->pts != AV_NOPTS_VALUE) {
        min_pts = std::min(min_pts, pkt->pts);
        if (pkt->pts >= max_pts) {
          max_pts = pkt->pts;
          last_dur = pkt->duration;
        }
      }
      if (pkt->dts != AV_NOPTS_VALUE) {
        if (last_dts != INT64_MIN && pkt->dts <= last_dts) r.dts_monotonic = false;
        last_dts = pkt->dts;
      }
    } else if (pkt->stream_index == a) {
      ++r.audio_packets;
      if (pkt->pts != AV_NOPTS_VALUE) {
        amin = std::min(amin, pkt->pts);
        if (pkt->pts >= amax) {
          amax = pkt->pts;
          adur = pkt->duration;
        }
      }
    }
    av_packet_unref(pkt.get());
  }
  // Containers that store no per-packet duration (MPEG-TS, some MP4 readings): the last frame lasts as
  // long as the average one.
  if (last_dur <= 0 && r.video_frames > 1 && max_pts > min_pts)
    last_dur = (max_pts - min_pts) / (r.video_frames - 1);
  if (min_pts != INT64_MAX)
    r.video_duration_s = static_cast<double>(max_pts + last_dur - min_pts) * vtb.num / vtb.den;
  if (amin != INT64_MAX) {
    r.audio_duration_s = static_cast<double>(amax + adur - amin) * atb.num / atb.den;
    if (min_pts != INT64_MAX)
      r.av_start_offset_s =
          static_cast<double>(amin) * atb.num / atb.den - static_cast<double>(min_pts) * vtb.num / vtb.den;
  }
  return r;
}

OutputReport verify_output(const std::string& path, const OutputExpectation& expect) {
  const OutputReport r = inspect_output(path);
  auto fail = [&](const std::string& what) {
    throw Error(ErrorCode::kVerify, "output check failed: " + what);
  };
  if (r.video_frames != expect.frames)
    fail(std::to_string(r.video_frames) + " video frames, the input has " + std::to_string(expect.frames));
  if (!r.dts_monotonic) fail("video timestamps are not strictly increasing");
  // A container may not store the last frame's duration; then it counts as missing up to one frame.
  if (std::abs(r.video_duration_s - expect.duration_s) > expect.tolerance_s * 1.01 + 1e-3) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "video lasts %.3f s, the input %.3f s", r.video_duration_s,
                  expect.duration_s);
    fail(buf);
  }
  if (expect.audio && (!r.has_audio || r.audio_packets == 0))
    fail("the input has audio but the output has none");
  return r;
}

}  // namespace pvt
