// JSON forms of what pvt reports: the analysis report (`pvt analyze --json`, MCP analyze_video) and the
// job summary (`pvt transcode --json`). Each carries a version field. Their strings are valid UTF-8 (so
// a strict dump cannot throw): bytes that are not, as in a Latin-1 file name, become U+FFFD.
#pragma once

#include <nlohmann/json.hpp>

#include "frame_analysis.hpp"
#include "media_index.hpp"
#include "output_plan.hpp"
#include "segment_plan.hpp"
#include "transcode_job.hpp"

namespace pvt {

inline constexpr int kAnalysisReportVersion = 1;
inline constexpr int kSummaryVersion = 1;

nlohmann::json media_json(const MediaInfo& info);
nlohmann::json plan_json(const Plan& plan);
// output: what transcode would do with each stream (analyze's "output" key); null leaves it out.
nlohmann::json analysis_report_json(const MediaInfo& info, const Analysis& analysis, const Plan& plan,
                                    const SceneDetectorOptions& scenes, bool per_frame,
                                    const OutputPlan* output = nullptr);
nlohmann::json output_plan_json(const OutputPlan& plan);
nlohmann::json summary_json(const TranscodeSummary& s);

}  // namespace pvt
