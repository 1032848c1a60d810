#include "scene_set.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "test_support.hpp"

namespace pvt::test {
namespace {

constexpr int kRate = 25;
// Every shot becomes 320x180 yuv420p at 25 frames/s with timestamps 0, 1, 2, ... in 1/25 s, so xfade
// can join any two of them and the labels are frame numbers.
// (fps=25 names the rate: without it ffmpeg guesses 1000000 frames/s and duplicates frames for ever.)
constexpr const char* kNormalise = "settb=1/25,setpts=N,scale=320:180,setsar=1,format=yuv420p,fps=25";

struct Shot {
  std::vector<std::string> input;  // ffmpeg arguments that open it
  std::string chain;               // its filters, from the input to a normalised shot
  int frames = 0;
};

// `effects` run before the shot is normalised (on the source's size and time).
Shot generated(const std::string& source, int frames, const std::string& effects = "",
               const std::string& size = "320x180") {
  const std::string seconds = std::to_string(frames / kRate + 1);
  return {{"-t", seconds, "-f", "lavfi", "-i",
           source + (source.find('=') == std::string::npos ? "=" : ":") + "s=" + size + ":r=25"},
          "trim=end_frame=" + std::to_string(frames) + "," + (effects.empty() ? "" : effects + ",") +
              kNormalise +
              ",noise=alls=10:allf=t:all_seed=7",  // a camera's grain (fixed seed: the same clip each run)
          frames};
}

// Frames [from, to) of a shared clip, at 25 frames/s whatever its rate (so 12.5 fps footage moves twice as
// fast, as it would after a speed-up in an edit).
std::optional<Shot> shared(const std::string& name, int from, int to, const std::string& effects = "") {
  const auto path = shared_clip(name);
  if (!path) return std::nullopt;
  return Shot{{"-i", *path},
              "trim=start_frame=" + std::to_string(from) + ":end_frame=" + std::to_string(to) + "," +
                  (effects.empty() ? "" : effects + ",") + kNormalise,
              to - from};
}

enum class Join { kHard, kDissolve, kFadeBlack, kFadeWhite };

struct Step {
  Join join = Join::kHard;
  int frames = 0;  // of the transition
  Shot shot;
};

// One clip: the first shot, then each next one joined by a cut or an xfade transition.
struct Recipe {
  std::string name;
  Shot first;
  std::vector<Step> steps;
};

const char* xfade_name(Join j) {
  switch (j) {
    case Join::kDissolve:
      return "fade";
    case Join::kFadeBlack:
      return "fadeblack";
    case Join::kFadeWhite:
      return "fadewhite";
    case Join::kHard:
      break;
  }
  return "";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string temp = path + "." + std::to_string(::getpid()) + ".tmp";
  std::ofstream(temp, std::ios::binary) << text;
  std::filesystem::rename(temp, path);
}

// An exclusive flock(2) on a file, held while it lives (closing the descriptor releases it).
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::string& path)
      : fd_(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw std::runtime_error("cannot open the scene set's lock " + path);
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) throw std::runtime_error("cannot lock the scene set's folder: " + path);
  }
  ~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_;
};

// The first line of `ffmpeg -version` (a newer ffmpeg may make other clips from the same arguments).
std::string ffmpeg_version() {
  static const std::string version = [] {
    const auto r = run({"ffmpeg", "-version"});
    return r.out.substr(0, r.out.find('\n'));
  }();
  return version;
}

// Makes the clip in `dir` unless the same recipe already made it there.
LabelledClip build(const Recipe& r, const std::string& dir) {
  LabelledClip clip;
  clip.name = r.name;
  clip.path = dir + "/" + r.name + ".mp4";
  std::vector<std::string> argv{"ffmpeg", "-v", "error", "-y"};
  std::vector<const Shot*> shots{&r.first};
  for (const auto& s : r.steps) shots.push_back(&s.shot);
  std::string graph;
  for (std::size_t i = 0; i < shots.size(); ++i) {
    argv.insert(argv.end(), shots[i]->input.begin(), shots[i]->input.end());
    graph += "[" + std::to_string(i) + ":v]" + shots[i]->chain + "[s" + std::to_string(i) + "];";
  }
  std::string current = "s0";
  int length = r.first.frames;
  for (std::size_t i = 0; i < r.steps.size(); ++i) {
    const Step& s = r.steps[i];
    const std::string next = "s" + std::to_string(i + 1), out = "j" + std::to_string(i);
    if (s.join == Join::kHard) {
      graph += "[" + current + "][" + next + "]concat=n=2:v=1[" + out + "];";
      clip.labels.push_back({LabelKind::kHard, length, length});
      length += s.shot.frames;
    } else {
      const int offset = length - s.frames;
      char opts[160];
      std::snprintf(opts, sizeof opts, "xfade=transition=%s:duration=%g:offset=%g", xfade_name(s.join),
                    static_cast<double>(s.frames) / kRate, static_cast<double>(offset) / kRate);
      graph += "[" + current + "][" + next + "]" + opts + "[" + out + "];";
      // xfade shows frame `offset` unmixed, blends the next frames and shows the new shot alone from
      // offset + frames - 1 (measured: its output is one frame longer than the inputs minus the overlap).
      clip.labels.push_back({s.join == Join::kDissolve ? LabelKind::kDissolve : LabelKind::kFade, offset + 1,
                             offset + s.frames - 1});
      length += s.shot.frames - s.frames + 1;
    }
    current = out;
  }
  graph += "[" + current + "]null[v]";
  argv.insert(argv.end(), {"-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast",
                           "-crf", "18", "-g", "1000", "-bf", "0", "-an"});
  clip.frames = length;
  // The recipe: the arguments that make the clip, each input file's size and time, and the ffmpeg that
  // runs them. A clip on disk made by the same recipe is reused.
  std::string recipe = ffmpeg_version() + "\n";
  for (std::size_t i = 0; i < argv.size(); ++i) {
    recipe += argv[i] + "\n";
    std::error_code ec;
    if (i > 0 && argv[i - 1] == "-i" && std::filesystem::is_regular_file(argv[i], ec))
      recipe += std::to_string(std::filesystem::file_size(argv[i], ec)) + " bytes, modified " +
                std::to_string(std::filesystem::last_write_time(argv[i], ec).time_since_epoch().count()) +
                "\n";
  }
  if (read_text(clip.path + ".recipe") == recipe) return clip;

  // Made under a name of this process and renamed when complete, so that test processes running at once
  // each see either no clip or a whole one.
  const std::string temp = clip.path + "." + std::to_string(::getpid()) + ".tmp.mp4";
  argv.push_back(temp);
  const auto res = run(argv);
  const auto fail = [&](const std::string& why) {
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    throw std::runtime_error("scene clip " + r.name + ": " + why);
  };
  if (res.exit_code != 0) fail("ffmpeg failed: " + res.err);
  // The labels are frame numbers: a shot that lost or gained a frame would move every label after it.
  if (const int made = ffprobe_frames(temp); made != length)
    fail(std::to_string(made) + " frames, not " + std::to_string(length));
  std::filesystem::rename(temp, clip.path);
  write_text_atomically(clip.path + ".recipe", recipe);
  return clip;
}

// A lighting effect on frames [from, to] of a shot (frame numbers within the shot).
std::string lit(double brightness, int from, int to) {
  return "eq=brightness=" + std::to_string(brightness) + ":enable='between(n," + std::to_string(from) + "," +
         std::to_string(to) + ")'";
}

std::vector<Recipe> generated_recipes() {
  const std::string flashes = lit(0.5, 40, 41) + ",drawbox=c=white:t=fill:enable='eq(n,90)'," +
                              "eq=brightness=0.45:enable='between(n,120,150)*not(mod(n,5))'," +
                              lit(0.12, 190, 10000) + ",fade=t=in:st=0:d=1";
  return {
      {"generated_joins",
       generated("testsrc2", 50),
       {{Join::kHard, 0, generated("mandelbrot", 50)},
        {Join::kHard, 0, generated("testsrc", 50)},
        {Join::kHard, 0, generated("cellauto=rule=110:seed=5", 50)},
        {Join::kHard, 0, generated("smptehdbars", 40)}}},
      {"generated_transitions",
       generated("testsrc2", 75),
       {{Join::kDissolve, 12, generated("mandelbrot", 75)},
        {Join::kFadeBlack, 25, generated("mandelbrot=start_x=-0.75:start_y=0.1", 75)},
        {Join::kDissolve, 25, generated("testsrc", 75)},
        {Join::kFadeWhite, 25, generated("testsrc2", 110, "hflip")},
        {Join::kDissolve, 50, generated("smptehdbars", 75)}}},
      // One shot each: a flash, a white frame, a strobe, a light that comes on and stays (and a fade-in
      // from black at the start); a zoom; the game of life's constant change.
      {"generated_not_cuts", generated("mandelbrot", 250, flashes), {}},
      {"generated_zoom", generated("mandelbrot=end_pts=40:end_scale=0.01", 150), {}},
      {"generated_pan",
       generated("testsrc2", 150, "crop=320:180:x='min(t*160,600)':y='min(t*80,330)'", "960x540"),
       {}},
      {"generated_life",
       generated("life=mold=10:ratio=0.5:seed=9:death_color=#102030:life_color=#e0c080", 100),
       {}},
  };
}

std::vector<Recipe> shared_recipes() {
  const auto car1 = shared("car-detection.mp4", 0, 75), car2 = shared("car-detection.mp4", 250, 325),
             city1 = shared("cityCC0.mpg", 0, 75), city2 = shared("cityCC0.mpg", 120, 190),
             book1 = shared("book.mkv", 0, 40), book2 = shared("book.mkv", 69, 109),
             car_all = shared("car-detection.mp4", 0, 377, lit(0.12, 150, 10000) + "," + lit(0.5, 80, 81)),
             city_all = shared("cityCC0.mpg", 0, 116);  // (cityCC0 has a cut at 116)
  if (!car1 || !car2 || !city1 || !city2 || !book1 || !book2 || !car_all || !city_all) return {};
  return {
      // Two moments of one static camera, two poses before one wall, then other shots.
      {"shared_joins",
       *car1,
       {{Join::kHard, 0, *car2},
        {Join::kHard, 0, *city1},
        {Join::kHard, 0, *book1},
        {Join::kHard, 0, *book2},
        {Join::kHard, 0, *city2}}},
      {"shared_transitions",
       *city1,
       {{Join::kDissolve, 25, *car1}, {Join::kFadeBlack, 25, *book1}, {Join::kDissolve, 12, *city2}}},
      {"shared_not_cuts", *car_all, {{Join::kHard, 0, *city_all}}},
  };
}

}  // namespace

const char* label_kind_name(LabelKind kind) {
  switch (kind) {
    case LabelKind::kHard:
      return "hard";
    case LabelKind::kDissolve:
      return "dissolve";
    case LabelKind::kFade:
      return "fade";
  }
  return "hard";
}

bool shared_clips_missing() {
  return shared_recipes().empty();
}

// PVT_SCENE_SET_DIR: build the set there and keep it, with labels.json (for benchmarks/scene_detection.py,
// which scores pvt, scdet and select='gt(scene,X)' on the same clips).
void write_labels(const std::vector<LabelledClip>& set, const std::string& dir) {
  nlohmann::json clips = nlohmann::json::array();
  for (const auto& c : set) {
    nlohmann::json labels = nlohmann::json::array();
    for (const auto& l : c.labels)
      labels.push_back({{"kind", label_kind_name(l.kind)}, {"start", l.start}, {"end", l.end}});
    clips.push_back({{"name", c.name},
                     {"path", c.path},
                     {"frames", c.frames},
                     {"frame_rate", kRate},
                     {"labels", labels}});
  }
  std::ofstream(dir + "/labels.json") << clips.dump(2) << "\n";
}

const std::vector<LabelledClip>& labelled_scene_set() {
  static std::mutex m;
  static std::vector<LabelledClip> set;
  static TempDir temp;
  std::lock_guard lock(m);
  if (!set.empty()) return set;
  const char* keep = std::getenv("PVT_SCENE_SET_DIR");
  std::string dir = keep && *keep ? keep : temp.path().string();
#ifdef PVT_SCENE_SET_CACHE
  // The test binaries share one copy in the build folder (each test is its own process: building the set
  // in each cost about 10 s of CPU apiece).
  if (!(keep && *keep)) dir = PVT_SCENE_SET_CACHE;
#endif
  std::filesystem::create_directories(dir);
  // One process makes the missing clips while the others wait for them (rather than making them too).
  const DirectoryLock made_by_one(dir + "/.lock");
  for (const auto& r : generated_recipes()) set.push_back(build(r, dir));
  for (const auto& r : shared_recipes()) set.push_back(build(r, dir));
  if (keep && *keep) write_labels(set, dir);
  return set;
}

SceneScore score_cuts(const LabelledClip& clip, const std::vector<int>& cuts, const LabelKind* only) {
  SceneScore s;
  const auto matches = [](const SceneLabel& l, int cut) {
    return l.kind == LabelKind::kHard ? std::abs(cut - l.start) <= 1 : cut >= l.start - 2 && cut <= l.end + 2;
  };
  for (const auto& l : clip.labels) {
    if (only && l.kind != *only) continue;
    ++s.labels;
    for (int c : cuts)
      if (matches(l, c)) {
        ++s.found;
        break;
      }
  }
  for (int c : cuts) {
    bool labelled = false;
    for (const auto& l : clip.labels) labelled = labelled || matches(l, c);
    ++s.detected;
    if (!labelled) ++s.false_cuts;
  }
  return s;
}

}  // namespace pvt::test
