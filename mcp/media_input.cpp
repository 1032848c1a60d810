#include "media_input.hpp"

#include "av_handles.hpp"
#include "error.hpp"
#include "tool.hpp"

namespace pvt::mcp {

namespace fs = std::filesystem;

fs::path resolve_input(const std::string& path, const fs::path& base) {
  if (path.empty()) throw ToolError("The input path is empty; give the path of a video file.");
  const fs::path given(path);
  const fs::path p = (given.is_absolute() ? given : base / given).lexically_normal();
  std::error_code ec;
  const auto st = fs::status(p, ec);
  if (!fs::exists(st))
    throw ToolError(
        "The input '" + path + "' does not exist" +
        (given.is_absolute() ? std::string(".") : " (relative paths are taken from " + base.string() + ")."));
  if (fs::is_directory(st)) throw ToolError("The input '" + path + "' is a directory, not a video file.");
  if (!fs::is_regular_file(st)) throw ToolError("The input '" + path + "' is not a regular file.");
  fs::path real = fs::canonical(p, ec);
  return ec ? p : real;
}

void require_video(const fs::path& path) {
  AVFormatContext* raw = nullptr;
  const int ret = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (ret < 0)
    throw ToolError("The input '" + path.string() + "' is not a media file FFmpeg can read (" +
                    av_error_text(ret) + ").");
  av::InputFormat ctx(raw);
  // Containers such as MPEG-TS declare their streams only once packets are read.
  if (ctx->nb_streams == 0 || ctx->streams[0]->codecpar->codec_type == AVMEDIA_TYPE_UNKNOWN)
    avformat_find_stream_info(ctx.get(), nullptr);
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    const AVStream* s = ctx->streams[i];
    if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC))
      return;
  }
  throw ToolError("The input '" + path.string() + "' has no video stream.");
}

}  // namespace pvt::mcp
