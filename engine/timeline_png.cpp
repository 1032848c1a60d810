#include "timeline_png.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "av_handles.hpp"
#include "bitmap_font.hpp"
#include "error.hpp"
#include "still_image.hpp"

namespace pvt {

namespace {

// timeline_svg.cpp's layout, with a narrower left margin: the rows are labelled by slot number only, as
// the bitmap font has no letters.
constexpr int kLeft = 40, kRight = 20, kTop = 12, kRow = 28, kBarInset = 3, kAxisGap = 6, kBottom = 34;
constexpr int kMaxRows = 64;
constexpr int kLabelScale = 2;

using Rgb = std::array<std::uint8_t, 3>;
constexpr Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0}, kGrey{60, 60, 60};

// The SVG's colours.
Rgb colour_for(const std::string& backend) {
  if (backend == "x264") return {0x4e, 0x79, 0xa7};
  if (backend == "x265") return {0x59, 0xa1, 0x4f};
  if (backend == "nvenc") return {0x76, 0xb0, 0x41};
  if (backend == "vaapi" || backend == "qsv") return {0xf2, 0x8e, 0x2b};
  return {0xb0, 0x7a, 0xa1};
}

std::string fixed(double v, int digits) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

// Row of each slot that ran a segment, in slot order; slots past the kMaxRows-th are left out.
std::map<int, int> rows_of(const TranscodeSummary& s) {
  std::map<int, int> rows;
  for (const auto& seg : s.segments)
    if (seg.slot >= 0) rows[seg.slot] = 0;
  int next = 0;
  for (auto it = rows.begin(); it != rows.end();) {
    if (next == kMaxRows) {
      it = rows.erase(it);
      continue;
    }
    (it++)->second = next++;
  }
  return rows;
}

class Chart {
 public:
  Chart(int width, int rows, double end)
      : picture_(av::make_frame()), rows_(std::max(rows, 1)), end_(end), plot_(width - kLeft - kRight) {
    picture_->format = AV_PIX_FMT_RGB24;
    picture_->width = width;
    picture_->height = kTop + kRow * rows_ + kBottom;
    check_av(av_frame_get_buffer(picture_.get(), 0), ErrorCode::kInternal, "frame allocation");
    fill(0, 0, picture_->width, picture_->height, kWhite);
  }

  void row_label(int row, int slot) {
    const std::string text = std::to_string(slot);
    const int y = kTop + kRow * row + (kRow - font::text_height(kLabelScale)) / 2;
    text_at(kLeft - 6 - font::text_width(text, kLabelScale), y, text, kLabelScale, kGrey);
  }

  // A bar from start to finish, one pixel short at its right end: the gap the SVG's white stroke leaves
  // between a segment and the next on the same worker.
  void bar(int row, double start_s, double finish_s, const Rgb& colour, int index) {
    const int x0 = x(start_s), x1 = std::max(x0 + 1, x(finish_s) - 1);
    const int y = kTop + kRow * row + kBarInset, h = kRow - 2 * kBarInset;
    fill(x0, y, x1 - x0, h, colour);
    const std::string text = std::to_string(index);
    for (int scale = kLabelScale; scale >= 1; --scale)
      if (font::text_width(text, scale) + 2 * 3 <= x1 - x0) {
        text_at(x0 + 3, y + (h - font::text_height(scale)) / 2, text, scale, kWhite);
        break;
      }
  }

  // The time axis: about ten ticks at a round step, labelled in seconds (the SVG's, without the " s").
  void axis() {
    const int y = kTop + kRow * rows_ + kAxisGap;
    fill(kLeft, y, plot_, 1, kBlack);
    const double raw = end_ / 10;
    const double mag = std::pow(10, std::floor(std::log10(raw)));
    const double step = raw / mag < 2 ? 2 * mag : raw / mag < 5 ? 5 * mag : 10 * mag;
    // Enough decimals that the labels differ (the SVG's one decimal repeats under a 0.1 s step).
    const int digits = std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 6);
    // Large digits where the widest label leaves room between ticks (charts wider than about 600 px).
    const int scale = font::text_width(fixed(end_, digits), 2) + 8 < plot_ * step / end_ ? 2 : 1;
    for (double t = 0; t <= end_ + 1e-9; t += step) {
      const std::string text = fixed(t, digits);
      fill(x(t), y, 1, 4, kBlack);
      const int w = font::text_width(text, scale);
      text_at(std::max(0, std::min(x(t) - w / 2, picture_->width - w)), y + 7, text, scale,
              kBlack);  // kept whole
    }
  }

  AVFrame& picture() { return *picture_; }

 private:
  int x(double t) const { return kLeft + static_cast<int>(std::lround(plot_ * t / end_)); }

  font::Canvas canvas() const {
    return {picture_->data[0], picture_->linesize[0], picture_->width, picture_->height, 3};
  }
  void fill(int x, int y, int w, int h, const Rgb& c) { font::fill_rect(canvas(), x, y, w, h, c); }
  void text_at(int x, int y, const std::string& text, int scale, const Rgb& c) {
    font::draw_text(canvas(), x, y, text, scale, c);
  }

  av::Frame picture_;
  int rows_;
  double end_;
  int plot_;
};

}  // namespace

std::vector<std::uint8_t> timeline_png(const TranscodeSummary& s, int width) {
  const std::map<int, int> rows = rows_of(s);
  double end = 0;  // the plot's span; an empty chart spans 1 s
  for (const auto& seg : s.segments)
    if (rows.count(seg.slot)) end = std::max(end, seg.finished_s);
  Chart chart(std::clamp(width, 320, 4096), static_cast<int>(rows.size()), end > 0 ? end : 1.0);
  for (const auto& [slot, row] : rows) chart.row_label(row, slot);
  for (const auto& seg : s.segments) {
    const auto it = rows.find(seg.slot);
    if (it != rows.end())
      chart.bar(it->second, seg.started_s, seg.finished_s, colour_for(seg.backend), seg.index);
  }
  chart.axis();
  return encode_still(AV_CODEC_ID_PNG, chart.picture());
}

}  // namespace pvt
