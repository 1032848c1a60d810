// One picture encoded as the bytes of an image file with one of libavcodec's image encoders (mjpeg: a
// JFIF file, png: a PNG file), so the engine writes images without an image library of its own.
#pragma once

#include <cstdint>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace pvt {

// The encoder takes the picture's size, pixel format and colour range. qscale > 0: a fixed quantiser
// (mjpeg's qscale, 2 best .. 31 worst), as `ffmpeg -q:v` sets it; 0: the encoder's default.
// Throws Error(kInternal) when FFmpeg lacks the encoder or refuses the picture.
std::vector<std::uint8_t> encode_still(AVCodecID codec, AVFrame& picture, int qscale = 0);

}  // namespace pvt
