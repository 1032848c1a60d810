// Progress on stderr: a redrawn bar on a terminal, JSON lines for programs (--progress json), or nothing.
#pragma once

#include <string>

#include "transcode_job.hpp"

namespace pvt::cli {

enum class ProgressMode { kAuto, kBar, kJson, kNone };

ProgressMode parse_progress_mode(const std::string& s);

class ProgressDisplay {
 public:
  explicit ProgressDisplay(ProgressMode mode);
  ~ProgressDisplay();
  void update(const JobProgress& p);
  // Prints a warning on its own line without tearing the bar.
  void warn(const std::string& message);
  // Prints an informational line ("pvt: resuming ...") the same way.
  void note(const std::string& message);
  void finish();

 private:
  void clear_line();
  ProgressMode mode_;
  bool bar_visible_ = false;
  std::string last_stage_;
  double last_json_ = -1;
};

}  // namespace pvt::cli
