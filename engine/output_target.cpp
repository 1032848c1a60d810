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
  if (t.format.empty()) t.format = ends_with(o.output, ".mpd") ? "dash" : format_for_output_name(o.output);
  if (t.format != "mp4" && t.format != "hls" && t.format != "mkv" && t.format != "webm" &&
      t.format != "dash" && t.format != "hls+dash")
    throw Error(ErrorCode::kUsage, "--format must be hls, dash, hls+dash, mp4, mkv or webm");
  // DASH is a streaming set like HLS: the same CMAF segments, another manifest.
  const bool dash = t.format == "dash" || t.format == "hls+dash";
  if (dash) {
    if (o.segment_type == "ts")
      throw Error(ErrorCode::kUsage, "DASH takes fMP4 (CMAF) segments, not --segment-type ts");
    t.hls.hls_manifest = t.format == "hls+dash";
    t.hls.dash_manifest = "manifest.mpd";
    t.format = "hls";
  }
  if (!o.ladder.empty() && t.format != "hls")
    throw Error(ErrorCode::kUsage,
                "--ladder writes HLS or DASH (a manifest and a media playlist per rendition), "
                "not " +
                    t.format);
  // fMP4 (CMAF) when asked, and by default for ladders and DASH (AV1 and VP9 always get it); a single
  // H.264/HEVC playlist stays MPEG-TS, which every player reads.
  t.hls.fmp4 = o.segment_type == "fmp4" || (o.segment_type == "auto" && (!o.ladder.empty() || dash));
  const bool streaming_set = !o.ladder.empty() || dash;
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
  if (ends_with(o.output, ".m3u8") || ends_with(o.output, ".mpd")) {
    t.dir = out.parent_path();
    const bool mpd = ends_with(o.output, ".mpd");
    if (mpd && !dash)
      throw Error(ErrorCode::kUsage, o.output + ": a .mpd output is DASH; give --format dash");
    t.hls.playlist_name = mpd ? out.stem().string() + ".m3u8" : out.filename().string();
    if (mpd) t.hls.dash_manifest = out.filename().string();
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
    t.hls.playlist_name = streaming_set ? "master.m3u8" : "index.m3u8";
    t.hls.segment_prefix = "segment_";
    t.hls.stem = "index";
    t.work_parent = out.parent_path();
    t.job_name = out.filename().string();
    require_writable_dir(fs::exists(out, ec) ? out : t.work_parent, o.output);
    require_writable_dir(t.work_parent, o.output);
  }
  // The manifest a player opens first: the master playlist, or the MPD when there is no HLS.
  t.final_path = (t.dir / (t.hls.hls_manifest ? t.hls.playlist_name : t.hls.dash_manifest)).string();
  for (const std::string& name : {t.hls.playlist_name, t.hls.dash_manifest}) {
    const fs::path path = t.dir / name;
    if (!name.empty() && fs::exists(path, ec) && !o.overwrite)
      throw Error(ErrorCode::kOutput, path.string() + ": already exists (use --overwrite to replace it)");
  }
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
