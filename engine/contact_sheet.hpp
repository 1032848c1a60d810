// A contact sheet: one thumbnail per requested time (scene starts, say) on a grid, encoded as one JPEG, so
// a person or a model can see a video's scenes in a single image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pvt {

struct ContactSheetOptions {
  int tile_width = 240;    // clamped to 64..640 (and made even)
  int columns = 4;         // clamped to 1..8, and to the number of tiles
  int max_tiles = 24;      // clamped to 1..64
  int jpeg_quality_q = 5;  // mjpeg qscale, clamped to 2 (best) .. 31 (worst)
};

struct ContactSheet {
  std::vector<std::uint8_t> jpeg;  // a JFIF file: 4:2:0, full range
  int width = 0;                   // columns x the tile width
  int height = 0;                  // rows x the tile height
  // Per tile, in order: the time of the frame it shows (seconds from the stream's start), the time asked
  // for where the stream ended before it (such a tile is left black).
  std::vector<double> tile_times_s;
};

// One thumbnail per requested time, in the order given, left to right then top to bottom; beyond
// max_tiles the times are thinned evenly (the first and the last kept). Each tile is the first frame at or
// after its time, scaled to the tile width keeping the display aspect ratio (sample aspect ratio
// included), with its time ("1:23.4") drawn in the top left corner. Times are seconds from the video
// stream's start time. Throws Error: kInput for an unreadable file or one without video, kUsage for no
// times or a time that is not a finite number.
ContactSheet make_contact_sheet(const std::string& path, const std::vector<double>& times_s,
                                const ContactSheetOptions& options = {});

}  // namespace pvt
