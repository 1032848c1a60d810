// Which renditions a streaming ladder has (`--ladder H1,H2,... | auto`): heights, tallest first, none
// taller than the displayed source (such a rung would only upscale: dropped with a warning).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "error.hpp"

namespace pvt {

using WarnFn = std::function<void(const std::string&)>;

// The standard rungs `--ladder auto` chooses from: at most three, the tallest no taller than the source
// nor than 1080 (a 4K source gets 1080/720/480; a 360p one 360/240).
inline constexpr int kAutoLadder[] = {1080, 720, 480, 360, 240};

// Throws Error(kUsage) for a spec that is not a list of heights (2..4320) or "auto", or that keeps no
// rung once the taller ones are dropped. Odd heights are rounded down to even.
std::vector<int> ladder_heights(const std::string& spec, int displayed_height, const WarnFn& warn);

// Each rung's peak bitrate (bits/s; 0: uncapped CRF) for `--ladder-bitrates SPEC`: "auto" (the default:
// default_rung_bitrate for every rung), "none" (no cap), or HEIGHT=RATE pairs ("720=2500k,480=1200k",
// RATE in bits/s with an optional k or M) for the rungs they name, the others at their default. Throws
// Error(kUsage) for a malformed spec or a height that is not a rung.
std::vector<std::int64_t> ladder_bitrates(const std::string& spec, const std::vector<int>& heights,
                                          const std::string& codec);

// The default peak bitrate of an H.264 rung this high, from the HLS authoring guidelines' ladder (1080p
// 6 Mb/s, 720p 3 Mb/s, 480p 1.5 Mb/s, 360p 0.8 Mb/s, 240p 0.4 Mb/s; others by their pixel count from the
// nearest); HEVC and VP9 get 65 % of it, AV1 55 %.
std::int64_t default_rung_bitrate(int height, const std::string& codec);

// Checks a spec's form without a source (the MCP server's argument check).
void check_ladder_bitrates(const std::string& spec);

}  // namespace pvt
