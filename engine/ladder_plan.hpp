// Which renditions a streaming ladder has (`--ladder H1,H2,... | auto`): heights, tallest first, none
// taller than the displayed source (such a rung would only upscale: dropped with a warning).
#pragma once

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

}  // namespace pvt
