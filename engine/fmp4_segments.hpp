// fMP4 (CMAF) HLS segments from one MP4 muxer for a whole playlist, fragmented by hand as FFmpeg's own HLS
// muxer does: an init segment (ftyp + moov: the codec configuration and each track's edit list, no
// samples), then one fragment (moof + mdat, offsets relative to the moof) per media segment file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "av_handles.hpp"

namespace pvt {

class FragmentedSegments {
 public:
  // `out`: an MP4 muxer with its streams added and no file open. The init segment is written to
  // init_path with the first media segment.
  FragmentedSegments(av::OutputFormat out, std::string init_path);
  FragmentedSegments(const FragmentedSegments&) = delete;
  FragmentedSegments& operator=(const FragmentedSegments&) = delete;
  ~FragmentedSegments();

  // The muxer, writing into memory, for the next media segment's packets.
  AVFormatContext* begin();
  // Flushes the segment's packets as one fragment and writes it to `path` (the first also the init).
  void end(const std::string& path);
  // Ends the muxer; its trailer (an index of the fragments) is not wanted and goes nowhere.
  void finish();

 private:
  av::OutputFormat out_;
  std::string init_path_;
  std::string header_;  // what the header wrote before the moov (the ftyp)
  bool init_written_ = false;
};

}  // namespace pvt
