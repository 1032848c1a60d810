#include "timeline_svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace pvt {

namespace {

constexpr double kLeft = 120, kRight = 20, kTop = 40, kRow = 28, kWidth = 900;

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

const char* colour_for(const std::string& backend) {
  if (backend == "x264") return "#4e79a7";
  if (backend == "x265") return "#59a14f";
  if (backend == "nvenc") return "#76b041";
  if (backend == "vaapi" || backend == "qsv") return "#f28e2b";
  return "#b07aa1";
}

std::string fixed(double v, int digits = 1) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

// Target quality, in a segment's tooltip: the CRF found, the score reached, the encodes it took.
std::string quality_text(const QualityResult& q) {
  if (q.metric.empty()) return "";
  return ", CRF " + fixed(q.crf, 2) + ": " + q.metric + " " + fixed(q.score, 4) + " (target " +
         fixed(q.target, 4) + ", " + std::to_string(q.probes.size()) + " probes, " +
         std::to_string(q.final_encodes) + " encode" + (q.final_encodes == 1 ? "" : "s") + ")";
}

}  // namespace

std::string timeline_svg(const TranscodeSummary& s) {
  std::map<int, std::string> rows;  // slot -> the backend it ran
  double end = 0;
  for (const auto& seg : s.segments) {
    if (seg.slot < 0) continue;
    rows[seg.slot] = seg.backend;
    end = std::max(end, seg.finished_s);
  }
  end = std::max(end, 1e-3);
  const double plot = kWidth - kLeft - kRight;
  auto x = [&](double t) { return kLeft + plot * t / end; };
  std::map<int, int> row_of;
  for (const auto& [slot, backend] : rows) row_of[slot] = static_cast<int>(row_of.size());
  const double height = kTop + kRow * std::max<std::size_t>(rows.size(), 1) + 40;

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << kLeft << "\" y=\"18\" font-size=\"13\">" << escape(s.output) << ": "
    << s.segments.size() << " segments on " << rows.size() << " workers, encode " << fixed(s.encode_s, 2)
    << " s, parallel efficiency " << fixed(s.parallel_efficiency, 2) << "</text>\n";
  for (const auto& [slot, backend] : rows) {
    const double y = kTop + kRow * row_of[slot];
    o << "<text x=\"8\" y=\"" << y + kRow * 0.6 << "\">worker " << slot << " (" << escape(backend)
      << ")</text>\n";
  }
  for (const auto& seg : s.segments) {
    if (seg.slot < 0) continue;
    const double y = kTop + kRow * row_of[seg.slot] + 3;
    const double x0 = x(seg.started_s), w = std::max(1.0, x(seg.finished_s) - x0);
    o << "<rect x=\"" << fixed(x0, 2) << "\" y=\"" << y << "\" width=\"" << fixed(w, 2) << "\" height=\""
      << kRow - 6 << "\" fill=\"" << colour_for(seg.backend) << "\" stroke=\"white\"><title>segment "
      << seg.index << ": frames " << seg.start_frame << "+" << seg.frames << ", " << fixed(seg.started_s, 2)
      << "-" << fixed(seg.finished_s, 2) << " s, " << escape(seg.backend)
      << (seg.fallback_from.empty() ? "" : " (fell back from " + seg.fallback_from + ")")
      << quality_text(seg.quality) << "</title></rect>\n";
    if (w > 18)
      o << "<text x=\"" << fixed(x0 + 3, 2) << "\" y=\"" << y + kRow * 0.5 << "\" fill=\"white\">"
        << seg.index << (seg.quality.metric.empty() || w < 90 ? "" : " crf " + fixed(seg.quality.crf, 1))
        << "</text>\n";
  }
  // The time axis: about ten ticks at a round step.
  const double raw = end / 10;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  const double step = raw / mag < 2 ? 2 * mag : raw / mag < 5 ? 5 * mag : 10 * mag;
  const double axis_y = kTop + kRow * std::max<std::size_t>(rows.size(), 1) + 6;
  o << "<line x1=\"" << kLeft << "\" y1=\"" << axis_y << "\" x2=\"" << kLeft + plot << "\" y2=\"" << axis_y
    << "\" stroke=\"black\"/>\n";
  for (double t = 0; t <= end + 1e-9; t += step)
    o << "<text x=\"" << fixed(x(t), 2) << "\" y=\"" << axis_y + 16 << "\" text-anchor=\"middle\">"
      << fixed(t, step < 1 ? 1 : 0) << " s</text>\n";
  o << "</svg>\n";
  return o.str();
}

}  // namespace pvt
