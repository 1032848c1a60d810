#include "hls_playlist.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace pvt {

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\n' || c == '\r') ? '\'' : c;
  return out + "\"";
}

std::string extinf(double seconds) {
  char line[64];
  std::snprintf(line, sizeof line, "#EXTINF:%.6f,\n", seconds);
  return line;
}

}  // namespace

std::string media_playlist(const std::vector<std::string>& segments, const std::vector<double>& durations,
                           const std::string& init_segment) {
  double longest = 0;
  for (double d : durations) longest = std::max(longest, d);
  std::ostringstream p;
  // Each EXTINF rounded to the nearest integer must not exceed the target duration.
  // EXT-X-MAP in a playlist without I-frames only needs version 6; 7 is what players expect with fMP4.
  p << "#EXTM3U\n#EXT-X-VERSION:" << (init_segment.empty() ? 3 : 7)
    << "\n#EXT-X-TARGETDURATION:" << std::max(1, static_cast<int>(std::ceil(longest)))
    << "\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n";
  if (!init_segment.empty()) p << "#EXT-X-MAP:URI=" << quoted(init_segment) << "\n";
  for (std::size_t s = 0; s < segments.size(); ++s) p << extinf(durations[s]) << segments[s] << "\n";
  p << "#EXT-X-ENDLIST\n";
  return p.str();
}

std::string master_playlist(const std::vector<HlsVariant>& variants,
                            const std::vector<HlsRendition>& subtitles,
                            const std::vector<HlsRendition>& audio) {
  std::ostringstream p;
  p << "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const auto& a : audio) {
    p << "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=" << quoted(a.name);
    if (!a.language.empty()) p << ",LANGUAGE=" << quoted(a.language);
    p << ",DEFAULT=" << (a.is_default ? "YES" : "NO") << ",AUTOSELECT=YES";
    if (!a.channels.empty()) p << ",CHANNELS=" << quoted(a.channels);
    p << ",URI=" << quoted(a.uri) << "\n";
  }
  for (const auto& s : subtitles) {
    p << "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=" << quoted(s.name);
    if (!s.language.empty()) p << ",LANGUAGE=" << quoted(s.language);
    p << ",DEFAULT=" << (s.is_default ? "YES" : "NO") << ",AUTOSELECT=YES";
    if (s.forced) p << ",FORCED=YES";
    p << ",URI=" << quoted(s.uri) << "\n";
  }
  for (const auto& v : variants) {
    p << "#EXT-X-STREAM-INF:BANDWIDTH=" << std::max(1LL, v.bandwidth);
    if (v.average_bandwidth > 0) p << ",AVERAGE-BANDWIDTH=" << v.average_bandwidth;
    if (!v.codecs.empty()) p << ",CODECS=" << quoted(v.codecs);
    if (v.width > 0 && v.height > 0) p << ",RESOLUTION=" << v.width << "x" << v.height;
    if (v.frame_rate > 0) {
      char fr[32];
      std::snprintf(fr, sizeof fr, "%.3f", v.frame_rate);
      p << ",FRAME-RATE=" << fr;
    }
    if (!audio.empty()) p << ",AUDIO=\"audio\"";
    if (!subtitles.empty()) p << ",SUBTITLES=\"subs\"";
    p << "\n" << v.uri << "\n";
  }
  return p.str();
}

std::string subtitle_playlist(const std::string& vtt_name, double duration_s) {
  std::ostringstream p;
  p << "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:"
    << std::max(1, static_cast<int>(std::ceil(duration_s)))
    << "\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n"
    << extinf(duration_s) << vtt_name << "\n#EXT-X-ENDLIST\n";
  return p.str();
}

}  // namespace pvt
