#include "job_status_json.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace pvt::mcp {

using nlohmann::json;

namespace {

double round_to(double v, double step) {
  return std::round(v / step) * step;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Target quality: [{segment, crf, score}] of the finished segments, in segment order.
json segment_quality_json(const JobStatus& s) {
  json a = json::array();
  for (const auto& [index, q] : s.segment_quality)
    a.push_back({{"segment", index}, {"crf", q.crf}, {"score", q.score}});
  return a;
}

}  // namespace

json status_json(const JobStatus& s, bool with_summary) {
  json j = {{"job_id", s.id},
            {"state", job_state_name(s.state)},
            {"stage", s.stage},
            {"percent", round_to(s.percent, 0.1)},
            {"frames_done", s.frames_done},
            {"frames_total", s.frames_total},
            {"fps", round_to(s.fps, 0.01)},
            {"eta_seconds", s.eta_seconds ? json(round_to(*s.eta_seconds, 0.1)) : json(nullptr)},
            {"segments_done", s.segments_done},
            {"segments_total", s.segments_total},
            {"executor", s.executor},
            {"slurm_job_id", s.slurm_job_id.empty() ? json(nullptr) : json(s.slurm_job_id)},
            {"slurm_tasks", s.slurm_tasks},
            {"segment_quality", segment_quality_json(s)},
            {"input", s.input},
            {"output", s.output},
            {"format", s.format},
            {"files", s.files},
            {"error", s.error ? json(*s.error) : json(nullptr)},
            {"resume_job_id", s.resume_job_id ? json(*s.resume_job_id) : json(nullptr)}};
  if (with_summary) j["summary"] = s.summary ? *s.summary : json(nullptr);
  return j;
}

json status_schema(bool with_summary) {
  json props = {
      {"job_id", {{"type", "string"}}},
      {"state",
       {{"type", "string"},
        {"enum", {"queued", "running", "succeeded", "failed", "cancelled", "interrupted"}},
        {"description",
         "interrupted: stopped before the end (the server was stopped or killed) with its finished segments "
         "kept on disk; transcode_video with resume_job_id finishes it"}}},
      {"stage",
       {{"type", "string"}, {"description", "engine stage: probe, analyze, encode, assemble, verify, done"}}},
      {"percent", {{"type", "number"}, {"minimum", 0}, {"maximum", 100}}},
      {"frames_done", {{"type", "integer"}}},
      {"frames_total", {{"type", "integer"}}},
      {"fps", {{"type", "number"}}},
      {"eta_seconds", {{"type", {"number", "null"}}}},
      {"segments_done", {{"type", "integer"}}},
      {"segments_total", {{"type", "integer"}}},
      {"executor", {{"type", "string"}, {"enum", {"local", "slurm"}}}},
      {"slurm_job_id",
       {{"type", {"string", "null"}}, {"description", "the Slurm job array, once submitted"}}},
      {"slurm_tasks",
       {{"type", "object"},
        {"additionalProperties", {{"type", "integer"}}},
        {"description", "the array's unfinished tasks counted by Slurm state (PENDING, RUNNING, ...)"}}},
      {"segment_quality",
       {{"type", "array"},
        {"items",
         {{"type", "object"},
          {"properties",
           {{"segment", {{"type", "integer"}}},
            {"crf", {{"type", "number"}}},
            {"score", {{"type", "number"}}}}}}},
        {"description", "target_quality jobs: each finished segment's chosen CRF and measured score"}}},
      {"input", {{"type", "string"}}},
      {"output", {{"type", "string"}, {"description", "the file, the HLS playlist or the DASH manifest"}}},
      {"format", {{"type", "string"}, {"enum", {"hls", "dash", "hls+dash", "mp4", "mkv", "webm"}}}},
      {"files", {{"type", "array"}, {"items", {{"type", "string"}}}}},
      {"error", {{"type", {"string", "null"}}, {"description", "why the job failed or stopped"}}},
      {"resume_job_id",
       {{"type", {"string", "null"}},
        {"description",
         "set when the job stopped with its finished segments kept on disk: pass it as transcode_video's "
         "resume_job_id to finish the job (cancel_transcode with it discards them)"}}}};
  json required = {"job_id", "state",       "percent",       "frames_done",    "frames_total",
                   "fps",    "eta_seconds", "segments_done", "segments_total", "input",
                   "output", "format",      "files",         "error",          "resume_job_id"};
  if (with_summary) {
    props["summary"] = {{"type", {"object", "null"}},
                        {"description", "the engine's job summary once succeeded"}};
    required.push_back("summary");
  }
  return {{"type", "object"}, {"properties", props}, {"required", required}};
}

std::string status_sentence(const JobStatus& s) {
  const std::string id = s.id;
  switch (s.state) {
    case JobState::kQueued:
      return id + " is queued behind other jobs; it will write " + s.output + ".";
    case JobState::kRunning: {
      std::string t = id + " is running: " + s.stage + " " + fixed(s.percent, 0) + "%";
      if (s.frames_total > 0)
        t += " (" + std::to_string(s.frames_done) + "/" + std::to_string(s.frames_total) + " frames, " +
             std::to_string(s.segments_done) + "/" + std::to_string(s.segments_total) + " segments)";
      if (s.fps > 0) t += ", " + fixed(s.fps, 1) + " fps";
      if (s.eta_seconds) t += ", about " + fixed(*s.eta_seconds, 0) + " s left";
      return t + ".";
    }
    case JobState::kSucceeded: {
      std::string t = id + " succeeded: wrote " + s.output + " (" + s.format + ", " +
                      std::to_string(s.files.size()) + (s.files.size() == 1 ? " file" : " files");
      if (s.summary && s.summary->contains("speed"))
        t += ", " + fixed(s.summary->value("speed", 0.0), 2) + "x real time";
      return t + ").";
    }
    case JobState::kFailed: {
      std::string t = id + " failed: " + s.error.value_or("unknown error") + ".";
      if (s.resume_job_id)
        t += " Its " + std::to_string(s.segments_done) + " finished segment(s) are kept. " + resume_hint(s);
      return t;
    }
    case JobState::kCancelled:
      return id + " was cancelled; no output was left behind.";
    case JobState::kInterrupted: {
      std::string t = id + " was interrupted with " + std::to_string(s.segments_done) + " of " +
                      std::to_string(s.segments_total) + " segments finished and kept";
      if (s.error) t += " (" + *s.error + ")";
      t += "; it would write " + s.output + ".";
      if (s.resume_job_id) t += " " + resume_hint(s);
      return t;
    }
  }
  return id;
}

std::string resume_hint(const JobStatus& s) {
  if (!s.resume_job_id) return {};
  return "Call transcode_video with resume_job_id \"" + *s.resume_job_id +
         "\" to finish it (the same arguments as before resume it too), or cancel_transcode with that id to "
         "discard it.";
}

std::string progress_message(const JobStatus& s) {
  if (s.state != JobState::kRunning) return job_state_name(s.state);
  std::string m = s.stage;
  char buf[128];
  if (s.frames_total > 0 && (s.stage == "encode" || s.stage == "analyze")) {
    std::snprintf(buf, sizeof buf, " %lld/%lld frames", static_cast<long long>(s.frames_done),
                  static_cast<long long>(s.frames_total));
    m.append(buf);
  }
  if (s.stage == "encode" && s.fps > 0) {
    std::snprintf(buf, sizeof buf, ", %.1f fps", s.fps);
    m.append(buf);
  }
  if (s.stage == "encode" && s.eta_seconds) {
    std::snprintf(buf, sizeof buf, ", ETA %.0f s", *s.eta_seconds);
    m.append(buf);
  }
  return m;
}

void report_progress(RequestContext& request, const JobStatus& s) {
  request.progress(round_to(s.percent, 0.1), 100, progress_message(s));
}

std::string mime_type(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".m3u8") return "application/vnd.apple.mpegurl";
  if (ext == ".ts") return "video/mp2t";
  if (ext == ".mkv") return "video/x-matroska";
  if (ext == ".webm") return "video/webm";
  if (ext == ".vtt") return "text/vtt";
  if (ext == ".json") return "application/json";
  if (ext == ".m4s") return "video/iso.segment";
  return "video/mp4";
}

std::string file_uri(const std::string& absolute_path) {
  static const char* hex = "0123456789ABCDEF";
  std::string uri = "file://";
  for (unsigned char c : absolute_path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      uri.push_back(static_cast<char>(c));
    } else {
      uri.push_back('%');
      uri.push_back(hex[c >> 4]);
      uri.push_back(hex[c & 15]);
    }
  }
  return uri;
}

const std::vector<JobReportKind>& job_report_kinds() {
  static const std::vector<JobReportKind> kinds = {
      {"summary", "application/json", "job summary (JSON)"},
      {"timeline", "image/svg+xml", "timeline of the workers (SVG)"},
      {"timeline.png", "image/png", "timeline of the workers (PNG)"}};
  return kinds;
}

std::string job_resource_uri(const std::string& job_id, const std::string& what) {
  return "pvt://jobs/" + job_id + "/" + what;
}

std::vector<json> resource_links(const JobStatus& s) {
  std::vector<json> links;
  for (const auto& f : s.files)
    links.push_back({{"type", "resource_link"},
                     {"uri", file_uri(f)},
                     {"name", std::filesystem::path(f).filename().string()},
                     {"mimeType", mime_type(f)}});
  if (s.report)
    for (const auto& r : job_report_kinds())
      links.push_back({{"type", "resource_link"},
                       {"uri", job_resource_uri(s.id, r.what)},
                       {"name", s.id + " " + r.what},
                       {"description", r.title},
                       {"mimeType", r.mime}});
  return links;
}

}  // namespace pvt::mcp
