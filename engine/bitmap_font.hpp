// A tiny hand-written 5x7 bitmap font (digits, ':', '.', '-' and space) for labels drawn straight into
// picture planes: the contact sheet's tile times and the PNG timeline's numbers. Hand-written because
// FFmpeg's drawtext filter needs a font file and fontconfig, which a server or a container may lack.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace pvt::font {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;

// One plane of pixels to draw on: pixel_bytes bytes per pixel (1: a Y or chroma plane, 3: RGB24).
// Everything drawn is clipped to width x height.
struct Canvas {
  std::uint8_t* data = nullptr;
  int linesize = 0;
  int width = 0;
  int height = 0;
  int pixel_bytes = 1;
};

// The size `text` takes at `scale` (each glyph kGlyphWidth x kGlyphHeight times scale, one blank column
// of scale pixels between glyphs). Characters the font lacks take a glyph's room and draw nothing.
int text_width(std::string_view text, int scale);
int text_height(int scale);

// `pixel` holds the value of one pixel (its first pixel_bytes bytes are used).
void fill_rect(const Canvas& canvas, int x, int y, int w, int h, std::span<const std::uint8_t> pixel);
void draw_text(const Canvas& canvas, int x, int y, std::string_view text, int scale,
               std::span<const std::uint8_t> pixel);

}  // namespace pvt::font
