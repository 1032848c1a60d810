// The text of HLS playlists (RFC 8216): the media playlist of the TS segments, a subtitle playlist for a
// WebVTT rendition, and the master playlist that ties the renditions together.
#pragma once

#include <string>
#include <vector>

namespace pvt {

struct HlsRendition {
  std::string uri;       // the rendition's media playlist, relative to the master
  std::string name;      // shown by players' track menus
  std::string language;  // ISO 639 code or empty
  bool is_default = false;
  bool forced = false;
  std::string channels;  // audio renditions: the channel count, as CHANNELS says it
};

struct HlsVariant {
  std::string uri;                  // the video's media playlist
  long long bandwidth = 0;          // peak bits/s
  long long average_bandwidth = 0;  // bits/s
  int width = 0, height = 0;
  std::string codecs;  // RFC 6381 "avc1.640028,mp4a.40.2"
  double frame_rate = 0;
};

// init_segment: the fMP4 init segment's name (EXT-X-MAP, playlist version 7); empty for MPEG-TS segments.
std::string media_playlist(const std::vector<std::string>& segments, const std::vector<double>& durations,
                           const std::string& init_segment = {});

// One EXT-X-STREAM-INF per variant (a ladder's rungs, tallest first), each naming the subtitle group and,
// when the audio is its own rendition group (`audio` not empty), the audio group.
std::string master_playlist(const std::vector<HlsVariant>& variants,
                            const std::vector<HlsRendition>& subtitles,
                            const std::vector<HlsRendition>& audio = {});

// One WebVTT file spanning the whole presentation, as one segment.
std::string subtitle_playlist(const std::string& vtt_name, double duration_s);

}  // namespace pvt
