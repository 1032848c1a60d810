// The output's audio: encoded once for the whole file (AAC, or Opus for WebM), or copied when the output
// carries it as it is, while the video workers run, then muxed at assembly.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "media_index.hpp"

namespace pvt {

enum class AudioMode { kAuto, kAac, kCopy, kNone };

AudioMode parse_audio_mode(const std::string& s);  // "auto", "aac", "copy", "none"
const char* audio_mode_name(AudioMode mode);       // its inverse

struct AudioTrack {
  bool present = false;
  std::string path;  // file holding the packets (the input itself when copied)
  int stream = -1;
  // Added to every packet's timestamps as read back from `path` (in its stream's time base) to restore
  // the timeline the encoder produced: containers may shift timestamps to avoid negative ones.
  std::int64_t expected_first_pts = 0;
  bool realign = false;
  std::string codec;  // "aac", "opus", or the copied stream's
  bool encoded = false;
  std::int64_t packets = 0;
  int input_stream = -1;  // the input's stream it comes from: its language, title and disposition
};

// One audio track of the output from input stream `stream`: copied (its packets read from the input at
// assembly) or encoded once to `codec` ("aac" or "opus") for the whole file into `work_dir`/audio_STREAM.nut.
// bitrate in bits/s. `cancel` (and SIGINT/SIGTERM) stop an encode early with Error(kInterrupted).
AudioTrack prepare_audio(const MediaInfo& info, int stream, bool encode, const std::string& codec,
                         std::int64_t bitrate, const std::string& work_dir,
                         const std::atomic<bool>* cancel = nullptr);

}  // namespace pvt
