// The text of a static DASH manifest (ISO/IEC 23009-1, live profile's SegmentTemplate addressing) over the
// same CMAF segments as the HLS playlists: one AdaptationSet for the video rungs, one per audio track,
// each Representation with its init segment, its numbered media segments and their SegmentTimeline; and
// one per subtitle track, a WebVTT file played whole.
// Written as text by hand: Debian's FFmpeg has a DASH muxer, but it segments by itself and cannot take
// segments that already exist, and the document is small and flat.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pvt {

// Where each media segment starts and how long it lasts, in `timescale` ticks a second: the times of the
// samples the segment holds, as its fragment carries them.
struct DashTimeline {
  std::int64_t timescale = 0;
  std::vector<std::int64_t> starts;
  std::vector<std::int64_t> durations;
};

struct DashRepresentation {
  std::string id;
  std::string codecs;  // RFC 6381
  long long bandwidth = 0;
  std::string init;           // init segment's name, relative to the manifest
  std::string media;          // SegmentTemplate media: e.g. "index_r0_$Number%05d$.m4s"
  int width = 0, height = 0;  // video
  std::string frame_rate;     // video: "24" or "30000/1001"
  int sample_rate = 0;        // audio
  int channels = 0;           // audio
  DashTimeline timeline;
  std::string file;  // a side file played whole (a WebVTT subtitle track) instead of segments
};

struct DashAdaptationSet {
  std::string content_type;  // "video", "audio" or "text" (WebVTT)
  std::string language;      // ISO 639, or empty
  std::vector<DashRepresentation> representations;
};

std::string dash_manifest(const std::vector<DashAdaptationSet>& sets, double duration_s);

// "PT12.080S", as xs:duration.
std::string xs_duration(double seconds);

}  // namespace pvt
