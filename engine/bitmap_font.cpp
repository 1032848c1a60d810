#include "bitmap_font.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace pvt::font {

namespace {

using Glyph = std::array<std::uint8_t, kGlyphHeight>;  // one row per byte, bit 4 = the leftmost column

constexpr std::array<Glyph, 10> kDigits{{
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E},  // 0
    {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},  // 1
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F},  // 2
    {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},  // 3
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02},  // 4
    {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},  // 5
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E},  // 6
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},  // 7
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E},  // 8
    {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C},  // 9
}};
constexpr Glyph kColon{0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00};
constexpr Glyph kPeriod{0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C};
constexpr Glyph kMinus{0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00};

// Null for a character without a glyph (a space, or one the font lacks): it is left blank.
const Glyph* glyph_for(char c) {
  if (c >= '0' && c <= '9') return &kDigits[c - '0'];
  if (c == ':') return &kColon;
  if (c == '.') return &kPeriod;
  if (c == '-') return &kMinus;
  return nullptr;
}

void draw_glyph(const Canvas& canvas, int x, int y, const Glyph& g, int scale,
                std::span<const std::uint8_t> pixel) {
  for (int row = 0; row < kGlyphHeight; ++row)
    for (int col = 0; col < kGlyphWidth; ++col)
      if (g[row] & (0x10 >> col)) fill_rect(canvas, x + col * scale, y + row * scale, scale, scale, pixel);
}

}  // namespace

int text_width(std::string_view text, int scale) {
  if (text.empty()) return 0;
  const int n = static_cast<int>(text.size());
  return (n * kGlyphWidth + (n - 1)) * scale;
}

int text_height(int scale) {
  return kGlyphHeight * scale;
}

void fill_rect(const Canvas& canvas, int x, int y, int w, int h, std::span<const std::uint8_t> pixel) {
  const int x0 = std::max(x, 0), x1 = std::min(x + w, canvas.width);
  const int y0 = std::max(y, 0), y1 = std::min(y + h, canvas.height);
  const std::size_t bytes = std::min<std::size_t>(pixel.size(), canvas.pixel_bytes);
  for (int yy = y0; yy < y1; ++yy) {
    std::uint8_t* row = canvas.data + static_cast<std::ptrdiff_t>(yy) * canvas.linesize;
    for (int xx = x0; xx < x1; ++xx) std::memcpy(row + xx * canvas.pixel_bytes, pixel.data(), bytes);
  }
}

void draw_text(const Canvas& canvas, int x, int y, std::string_view text, int scale,
               std::span<const std::uint8_t> pixel) {
  const int advance = (kGlyphWidth + 1) * scale;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (const Glyph* g = glyph_for(text[i]))
      draw_glyph(canvas, x + static_cast<int>(i) * advance, y, *g, scale, pixel);
}

}  // namespace pvt::font
