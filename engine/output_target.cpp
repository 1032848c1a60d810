#include "output_target.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "error.hpp"
#include "output_plan.hpp"
#include "transcode_job.hpp"

namespace pvt {
namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

void require_writable_dir(const fs::path& dir, const std::string& output) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorCode::kOutput,
                output + ": cannot write output: directory " + dir.string() + " does not exist");
  if (access(dir.c_str(), W_OK | X_OK) != 0)
    throw Error(ErrorCode::kOutput, output + ": cannot write output: " + dir.string() + " is not writable");
}

}  // namespace

OutputTarget resolve_output(const TranscodeOptions& o) {
  if (o.output.empty()) throw Error(ErrorCode::kUsage, "no output path given (-o)");
  OutputTarget t;
  t.format = o.format;
  if (t.format.empty()) t.format = format_for_output_name(o.output);
  if (t.format != "mp4" && t.format != "hls" && t.format != "mkv" && t.format != "webm")
    throw Error(ErrorCode::kUsage, "--format must be hls, mp4, mkv or webm");
  if (!o.ladder.empty() && t.format != "hls")
    throw Error(ErrorCode::kUsage,
                "--ladder writes HLS (a master playlist and a media playlist per rendition), "
                "not " +
                    t.format);
  // fMP4 (CMAF) when asked, and by default for ladders (AV1 and VP9 always get it); a single H.264/HEVC
  // playlist stays MPEG-TS, which every player reads.
  t.hls.fmp4 = o.segment_type == "fmp4" || (o.segment_type == "auto" && !o.ladder.empty());
  fs::path out = fs::absolute(o.output).lexically_normal();
  if (!out.has_filename()) out = out.parent_path();  // "out/" names the folder "out"
  std::error_code ec;
  if (t.format != "hls") {
    if (fs::is_directory(out, ec))
      throw Error(ErrorCode::kOutput,
                  o.output + ": is a directory; give a file name for " + t.format + " output");
    t.dir = out.parent_path();
    t.final_path = out.string();
    t.work_parent = t.dir;
    t.job_name = out.filename().string();
    require_writable_dir(t.dir, o.output);
    if (fs::exists(out, ec) && !o.overwrite)
      throw Error(ErrorCode::kOutput, o.output + ": already exists (use --overwrite to replace it)");
    return t;
  }
  if (ends_with(o.output, ".m3u8")) {
    t.dir = out.parent_path();
    t.hls.playlist_name = out.filename().string();
    t.hls.segment_prefix = out.stem().string() + "_";
    t.hls.stem = out.stem().string();
    t.work_parent = t.dir;
    t.job_name = out.filename().string();
    require_writable_dir(t.dir, o.output);
  } else {
    if (fs::exists(out, ec) && !fs::is_directory(out, ec))
      throw Error(ErrorCode::kOutput,
                  o.output + ": exists and is not a directory (HLS output is a directory or a .m3u8 path)");
    t.dir = out;
    t.hls.playlist_name = o.ladder.empty() ? "index.m3u8" : "master.m3u8";
    t.hls.segment_prefix = "segment_";
    t.hls.stem = "index";
    t.work_parent = out.parent_path();
    t.job_name = out.filename().string();
    require_writable_dir(fs::exists(out, ec) ? out : t.work_parent, o.output);
    require_writable_dir(t.work_parent, o.output);
  }
  t.final_path = (t.dir / t.hls.playlist_name).string();
  if (fs::exists(t.final_path, ec) && !o.overwrite)
    throw Error(ErrorCode::kOutput, t.final_path + ": already exists (use --overwrite to replace it)");
  return t;
}

void remove_stale_segments(const OutputTarget& t, const std::vector<std::string>& kept) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(t.dir, ec)) {
    const std::string name = e.path().filename().string();
    const std::string& prefix = t.hls.segment_prefix;
    // PREFIX00000.ts, PREFIX00000.m4s and the fMP4 init segment PREFIXinit.mp4 of an earlier run.
    const std::size_t ext = ends_with(name, ".ts") ? 3 : ends_with(name, ".m4s") ? 4 : 0;
    const bool init = name == prefix + "init.mp4";
    if (!init && (ext == 0 || name.size() != prefix.size() + 5 + ext || name.rfind(prefix, 0) != 0)) continue;
    if (!init && !std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()),
                              name.end() - static_cast<std::ptrdiff_t>(ext), ::isdigit))
      continue;
    if (std::find(kept.begin(), kept.end(), e.path().string()) == kept.end()) fs::remove(e.path(), ec);
  }
}

}  // namespace pvt
