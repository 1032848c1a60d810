#include "dash_manifest.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace pvt {

namespace {

// Attribute values are names and codec strings of our own making, but a language tag comes from the
// input: escaped all the same.
std::string xml_escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// S elements, runs of equal durations folded into one with a repeat count (r) as the schema allows; an
// explicit t wherever a segment does not start where the one before ended.
void write_timeline(std::ostringstream& x, const DashTimeline& t) {
  x << "          <SegmentTimeline>\n";
  const std::size_t n = t.starts.size();
  for (std::size_t s = 0; s < n;) {
    std::size_t run = s + 1;
    while (run < n && t.durations[run] == t.durations[s] &&
           t.starts[run] == t.starts[run - 1] + t.durations[s])
      ++run;
    x << "            <S";
    if (s == 0 || t.starts[s] != t.starts[s - 1] + t.durations[s - 1]) x << " t=\"" << t.starts[s] << "\"";
    x << " d=\"" << t.durations[s] << "\"";
    if (run - s > 1) x << " r=\"" << run - s - 1 << "\"";
    x << "/>\n";
    s = run;
  }
  x << "          </SegmentTimeline>\n";
}

// `origin_s`: the earliest media time of all representations, which becomes the period's start.
void write_representation(std::ostringstream& x, const DashRepresentation& r, double origin_s) {
  x << "      <Representation id=\"" << xml_escaped(r.id) << "\" codecs=\"" << xml_escaped(r.codecs)
    << "\" bandwidth=\"" << std::max(1LL, r.bandwidth) << "\"";
  if (r.width > 0) x << " width=\"" << r.width << "\" height=\"" << r.height << "\"";
  if (!r.frame_rate.empty()) x << " frameRate=\"" << r.frame_rate << "\"";
  if (r.sample_rate > 0) x << " audioSamplingRate=\"" << r.sample_rate << "\"";
  x << ">\n";
  if (!r.file.empty()) {
    x << "        <BaseURL>" << xml_escaped(r.file) << "</BaseURL>\n      </Representation>\n";
    return;
  }
  if (r.channels > 0)
    x << "        <AudioChannelConfiguration "
         "schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" value=\""
      << r.channels << "\"/>\n";
  // The timelines start where the media does; one presentationTimeOffset (the same instant in every
  // representation's timescale) maps the earliest onto the period's start and keeps audio and video as
  // far apart as they are in the input.
  const auto offset = std::llround(origin_s * static_cast<double>(r.timeline.timescale));
  x << "        <SegmentTemplate timescale=\"" << r.timeline.timescale << "\" presentationTimeOffset=\""
    << offset << "\" initialization=\"" << xml_escaped(r.init) << "\" media=\"" << xml_escaped(r.media)
    << "\" startNumber=\"0\">\n";
  write_timeline(x, r.timeline);
  x << "        </SegmentTemplate>\n      </Representation>\n";
}

}  // namespace

std::string xs_duration(double seconds) {
  char s[48];
  std::snprintf(s, sizeof s, "PT%.3fS", seconds < 0 ? 0 : seconds);
  return s;
}

std::string dash_manifest(const std::vector<DashAdaptationSet>& sets, double duration_s) {
  double origin_s = 0;
  bool any = false;
  for (const auto& set : sets)
    for (const auto& r : set.representations) {
      if (r.timeline.starts.empty() || r.timeline.timescale <= 0) continue;
      const double first =
          static_cast<double>(r.timeline.starts.front()) / static_cast<double>(r.timeline.timescale);
      origin_s = any ? std::min(origin_s, first) : first;
      any = true;
    }
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    << "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" "
       "profiles=\"urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019\" "
       "mediaPresentationDuration=\""
    << xs_duration(duration_s) << "\" minBufferTime=\"PT2.000S\">\n"
    << "  <Period id=\"0\" start=\"PT0.000S\">\n";
  for (std::size_t i = 0; i < sets.size(); ++i) {
    const auto& set = sets[i];
    const std::string mime = set.content_type == "text" ? "text/vtt" : set.content_type + "/mp4";
    x << "    <AdaptationSet id=\"" << i << "\" contentType=\"" << set.content_type << "\" mimeType=\""
      << mime << "\"";
    if (set.content_type != "text") x << " segmentAlignment=\"true\" startWithSAP=\"1\"";
    if (!set.language.empty()) x << " lang=\"" << xml_escaped(set.language) << "\"";
    x << ">\n";
    for (const auto& r : set.representations) write_representation(x, r, origin_s);
    x << "    </AdaptationSet>\n";
  }
  x << "  </Period>\n</MPD>\n";
  return x.str();
}

}  // namespace pvt
