// The plan's last pass: cuts added so that the workers' last wave finishes together. Its own file so that
// its choice of cut can be tested on costs made up for the purpose.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace pvt {

// How far past an even share the estimated finish may be before the last wave is evened out.
inline constexpr double kEvenFinishTolerance = 0.03;

// When `workers` take segments of these costs longest first, the time the last one finishes.
double longest_first_makespan(std::vector<double> costs, int workers);

// `starts`: each segment's first frame and why it starts there, in order; `frames`: the frame count;
// `t(f)`: frame f's time in seconds (t(frames) = the duration); `cost(from, to)`: a segment's estimated
// cost, as the plan gives it (its frames, and the frames decoded only to be dropped before it).
// `accepted_overrun`: how far past an even share the estimated finish may be without a cut (0.03 =
// 3 %); the plan passes what its preference for cuts at keyframes already allows, so that this pass does
// not undo it with an IDR of its own.
void even_out_last_wave(std::vector<std::pair<int, std::string>>& starts, int frames,
                        const std::function<double(int)>& t, const std::function<bool(int)>& is_keyframe,
                        const std::function<double(int, int)>& cost, double min_s, int workers,
                        double accepted_overrun = kEvenFinishTolerance);

}  // namespace pvt
