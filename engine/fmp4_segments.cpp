#include "fmp4_segments.hpp"

#include <utility>

#include "atomic_file.hpp"
#include "error.hpp"

extern "C" {
#include <libavformat/avformat.h>
}

namespace pvt {

namespace {

// What the muxer wrote since its memory buffer was opened; the buffer is closed.
std::string take_bytes(AVFormatContext* out) {
  std::uint8_t* data = nullptr;
  const int size = avio_close_dyn_buf(out->pb, &data);
  out->pb = nullptr;
  std::string bytes(reinterpret_cast<const char*>(data), static_cast<std::size_t>(std::max(size, 0)));
  av_free(data);
  return bytes;
}

void open_memory(AVFormatContext* out) {
  check_av(avio_open_dyn_buf(&out->pb), ErrorCode::kInternal, "fMP4 segment buffer");
}

// Where the first fragment begins in what the muxer wrote, or npos: with delay_moov its first flush writes
// the moov alone, and the fragment with the next.
std::size_t first_fragment_at(const std::string& b) {
  std::size_t at = 0;
  const auto u = [&](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(b[i])); };
  while (at + 8 <= b.size()) {
    std::uint64_t size = u(at) << 24 | u(at + 1) << 16 | u(at + 2) << 8 | u(at + 3);
    const std::string type = b.substr(at + 4, 4);
    if (type == "moof" || type == "styp" || type == "sidx") return at;
    if (size == 1 && at + 16 <= b.size()) {
      size = 0;
      for (std::size_t i = 0; i < 8; ++i) size = size << 8 | u(at + 8 + i);
    }
    if (size < 8) break;
    at += size;
  }
  return std::string::npos;
}

}  // namespace

FragmentedSegments::FragmentedSegments(av::OutputFormat out, std::string init_path)
    : out_(std::move(out)), init_path_(std::move(init_path)) {
  // delay_moov: the moov is written when the first fragment is, once every track's first timestamp is
  // known, so that its edit lists keep the tracks' offsets (the B-frame delay of the video against the
  // audio). Written up front, each track would start at zero and the audio would lead the video by the
  // reorder delay (0.083 s at x264's defaults), as ffprobe and the HLS demuxer both read it.
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "movflags", "+frag_custom+empty_moov+default_base_moof+delay_moov", 0);
  open_memory(out_.get());
  const int ret = avformat_write_header(out_.get(), &opts);
  av_dict_free(&opts);
  header_ = take_bytes(out_.get());
  check_av(ret, ErrorCode::kOutput, init_path_);
}

FragmentedSegments::~FragmentedSegments() {
  if (out_ && out_->pb) take_bytes(out_.get());
}

AVFormatContext* FragmentedSegments::begin() {
  open_memory(out_.get());
  return out_.get();
}

void FragmentedSegments::end(const std::string& path) {
  // The interleaving queue first (its packets belong to this segment), then the fragment itself.
  check_av(av_interleaved_write_frame(out_.get(), nullptr), ErrorCode::kOutput, path);
  check_av(av_write_frame(out_.get(), nullptr), ErrorCode::kOutput, path);
  std::string bytes = take_bytes(out_.get());
  if (!init_written_) {
    std::size_t split = first_fragment_at(bytes);
    if (split == std::string::npos) {
      // Only the moov so far: the next flush writes the fragment.
      open_memory(out_.get());
      check_av(av_write_frame(out_.get(), nullptr), ErrorCode::kOutput, path);
      split = bytes.size();
      bytes += take_bytes(out_.get());
      if (first_fragment_at(bytes.substr(split)) != 0)
        throw Error(ErrorCode::kInternal, path + ": the fMP4 muxer wrote no fragment after its moov");
    }
    write_file_atomically(init_path_, header_ + bytes.substr(0, split));
    bytes.erase(0, split);
    init_written_ = true;
  }
  write_file_atomically(path, bytes);
}

void FragmentedSegments::finish() {
  open_memory(out_.get());
  const int ret = av_write_trailer(out_.get());
  take_bytes(out_.get());
  check_av(ret, ErrorCode::kOutput, "fMP4 trailer");
}

}  // namespace pvt
