// pvt's encoding settings on the AV1 and VP9 encoders' own scales. --crf is x264's 0-51 scale everywhere,
// so one number means about the same size/quality trade on every codec: it is mapped linearly onto the
// 0-63 quantizer range of SVT-AV1, libaom and libvpx and onto rav1e's 0-255. --preset takes x264's names
// (mapped onto each encoder's speed, fastest to slowest) or the encoder's own number, passed through.
#pragma once

#include <optional>
#include <string>

namespace pvt::hw {

// A GOP length no segment reaches: the encoder's own key-frame placement never adds one; pvt forces them.
inline constexpr int kNoAutomaticKeyframes = 1 << 20;

// crf (0-51) onto 0..top, rounded.
int quality_on_scale(double crf, int top);

// The preset as the encoder's own speed number: a number given as the preset is passed through (checked
// against lo..hi); an x264 name goes through `by_name` (ultrafast, superfast, veryfast, faster, fast,
// medium, slow, slower, veryslow, placebo). Throws BackendError naming what it takes.
int speed_for(const std::string& preset, const int (&by_name)[10], int lo, int hi, const char* encoder);

// log2 of the tile columns that give `threads` threads a column each, no tile narrower than 256 pixels
// (libaom and libvpx thread across tile columns and rows).
int tile_columns_log2(int threads, int width);

// True when the preset is a plain (optionally negative) integer.
bool is_speed_number(const std::string& preset);

}  // namespace pvt::hw
