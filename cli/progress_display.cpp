#include "progress_display.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "error.hpp"

namespace pvt::cli {

ProgressMode parse_progress_mode(const std::string& s) {
  if (s == "auto") return ProgressMode::kAuto;
  if (s == "bar") return ProgressMode::kBar;
  if (s == "json") return ProgressMode::kJson;
  if (s == "none") return ProgressMode::kNone;
  throw Error(ErrorCode::kUsage, "--progress must be auto, bar, json or none");
}

ProgressDisplay::ProgressDisplay(ProgressMode mode) : mode_(mode) {
  if (mode_ == ProgressMode::kAuto) mode_ = isatty(STDERR_FILENO) ? ProgressMode::kBar : ProgressMode::kNone;
}

ProgressDisplay::~ProgressDisplay() {
  finish();
}

void ProgressDisplay::clear_line() {
  if (bar_visible_) {
    std::fputs("\r\033[2K", stderr);
    bar_visible_ = false;
  }
}

namespace {

std::string clock_text(double s) {
  if (!(s >= 0) || s > 359999) return "--:--";
  const int t = static_cast<int>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%d:%02d", t / 60, t % 60);
  return buf;
}

// One JSON line. Messages may quote file names that are not UTF-8 (Linux allows any bytes but '/' and
// NUL); JSON cannot carry those bytes, so they become U+FFFD instead of throwing mid-job.
std::string json_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void ProgressDisplay::update(const JobProgress& p) {
  if (mode_ == ProgressMode::kNone) return;
  const double fps = p.elapsed_s > 0 ? static_cast<double>(p.frames_done) / p.elapsed_s : 0;
  const double fraction =
      p.frames_total > 0 ? std::clamp(static_cast<double>(p.frames_done) / p.frames_total, 0.0, 1.0) : 0;
  const double media_done = fraction * p.media_duration_s;
  const double speed = p.elapsed_s > 0 ? media_done / p.elapsed_s : 0;
  const double eta = fps > 0 ? static_cast<double>(p.frames_total - p.frames_done) / fps : -1;
  if (mode_ == ProgressMode::kJson) {
    // At most ~4 lines a second, plus every stage change.
    if (p.stage == last_stage_ && p.elapsed_s - last_json_ < 0.25 && p.stage != "done") return;
    last_stage_ = p.stage;
    last_json_ = p.elapsed_s;
    nlohmann::json j{{"stage", p.stage},
                     {"frames", p.frames_done},
                     {"total_frames", p.frames_total},
                     {"percent", fraction * 100},
                     {"fps", fps},
                     {"speed", speed},
                     {"eta_seconds", eta},
                     {"elapsed_seconds", p.elapsed_s},
                     {"segments_done", p.segments_done},
                     {"segments_total", p.segments_total}};
    std::fprintf(stderr, "%s\n", j.dump().c_str());
    std::fflush(stderr);
    return;
  }
  constexpr int kWidth = 28;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r\033[2K%-8s [%s] %3.0f%% %lld/%lld frames %.1f fps %.2fx ETA %s", p.stage.c_str(),
               bar.c_str(), fraction * 100, static_cast<long long>(p.frames_done),
               static_cast<long long>(p.frames_total), fps, speed, clock_text(eta).c_str());
  std::fflush(stderr);
  bar_visible_ = true;
}

void ProgressDisplay::warn(const std::string& message) {
  clear_line();
  if (mode_ == ProgressMode::kJson) {
    std::fprintf(stderr, "%s\n", json_line({{"warning", message}}).c_str());
  } else {
    std::fprintf(stderr, "pvt: warning: %s\n", message.c_str());
  }
}

void ProgressDisplay::note(const std::string& message) {
  clear_line();
  if (mode_ == ProgressMode::kJson) {
    std::fprintf(stderr, "%s\n", json_line({{"note", message}}).c_str());
  } else {
    std::fprintf(stderr, "pvt: %s\n", message.c_str());
  }
}

void ProgressDisplay::finish() {
  if (bar_visible_) {
    std::fputs("\n", stderr);
    bar_visible_ = false;
  }
}

}  // namespace pvt::cli
