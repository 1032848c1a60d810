// pvt_analysis_bench: analysis-kernel throughput per backend with decoding taken out.
//
// Decodes the first --frames frames of a clip once into memory (as `pvt analyze` decodes: loop filter
// skipped), times that decode, then feeds the same decoded frames to each backend's analyzer for at least
// --seconds and reports frames/s, on one stream and on --threads streams at once (the CPU analysis runs
// one per core; GPU streams share the device). Every backend's integers are checked against the CPU's
// on the first pass, so a fast wrong kernel cannot post a figure. JSON on stdout with --json.
//
//   pvt_analysis_bench CLIP [--frames N] [--seconds S] [--threads T] [--backends cpu,vulkan,cuda] [--json]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "frame_analysis.hpp"
#include "frame_reader.hpp"
#include "kernel_factory.hpp"
#include "media_index.hpp"
#include "system_resources.hpp"

extern "C" {
#include <libavutil/log.h>
}

namespace {

using Clock = std::chrono::steady_clock;
using pvt::kernels::AnalysisBackend;
using pvt::kernels::AnalysisResult;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One pass over the frames on a new analyzer; results kept when `out` is given.
void pass(AnalysisBackend& backend, const std::vector<pvt::av::Frame>& frames, int factor,
          std::vector<AnalysisResult>* out) {
  auto analyzer = backend.make_analyzer(0);
  std::vector<AnalysisResult> results;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    pvt::kernels::AnalysisFrame f = pvt::analysis_frame(frames[i].get(), false);
    f.tag = static_cast<std::int64_t>(i);
    f.factor = factor;
    f.continues = i > 0;
    analyzer->submit(f);
    analyzer->poll(results);
    if (!out) results.clear();
  }
  analyzer->flush(results);
  if (out) *out = std::move(results);
}

// Frames/s of `streams` threads each running passes until `seconds` have gone by.
double throughput(AnalysisBackend& backend, const std::vector<pvt::av::Frame>& frames, int factor,
                  int streams, double seconds) {
  std::vector<long> done(streams, 0);
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int s = 0; s < streams; ++s)
    pool.emplace_back([&, s] {
      while (since(t0) < seconds) {
        pass(backend, frames, factor, nullptr);
        done[s] += static_cast<long>(frames.size());
      }
    });
  for (auto& t : pool) t.join();
  long total = 0;
  for (long d : done) total += d;
  return total / since(t0);
}

bool same_integers(const std::vector<AnalysisResult>& a, const std::vector<AnalysisResult>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto &x = a[i].measure, &y = b[i].measure;
    if (x.histogram != y.histogram || x.gradient_sum != y.gradient_sum || x.diff_sum != y.diff_sum ||
        x.strong_changes != y.strong_changes || x.has_previous != y.has_previous || x.pixels != y.pixels)
      return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  av_log_set_level(AV_LOG_QUIET);
  CLI::App app{"analysis-kernel throughput per backend, decoding excluded"};
  std::string input, backends_arg = "cpu,vulkan,cuda";
  int frame_limit = 240, threads = pvt::usable_cores();
  double seconds = 3;
  bool json_out = false;
  app.add_option("input", input, "video clip")->required()->check(CLI::ExistingFile);
  app.add_option("--frames", frame_limit, "frames decoded into memory (default 240)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--seconds", seconds, "time per measurement (default 3)")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "streams for the parallel figure (default: cores)")
      ->check(CLI::Range(1, 256));
  app.add_option("--backends", backends_arg, "comma-separated: cpu, vulkan, cuda (default all)");
  app.add_flag("--json", json_out, "print JSON");
  CLI11_PARSE(app, argc, argv);

  try {
    const pvt::MediaInfo info = pvt::probe_media(input);
    pvt::FrameReader reader(input, info.video_stream, {.threads = threads, .fast_decode = true});
    reader.start_at(info.frames.front().pts, {});
    std::vector<pvt::av::Frame> frames;
    const auto td = Clock::now();
    while (static_cast<int>(frames.size()) < frame_limit) {
      AVFrame* f = reader.next();
      if (!f) break;
      frames.emplace_back(av_frame_clone(f));
    }
    const double decode_s = since(td);
    if (frames.empty()) throw std::runtime_error(input + ": no frame decoded");
    const int factor = pvt::kernels::reduction_factor(info.width, info.height);

    nlohmann::json report = {{"input", input},
                             {"width", info.width},
                             {"height", info.height},
                             {"pix_fmt", info.pix_fmt},
                             {"reduced", {info.width / factor, info.height / factor}},
                             {"frames", frames.size()},
                             {"threads", threads},
                             {"decode_fps", frames.size() / decode_s},
                             {"backends", nlohmann::json::array()}};
    std::vector<AnalysisResult> reference;
    pass(*pvt::kernels::make_cpu_backend(), frames, factor, &reference);

    std::stringstream list(backends_arg);
    for (std::string name; std::getline(list, name, ',');) {
      nlohmann::json entry = {{"backend", name}};
      const auto kind = pvt::kernels::parse_backend(name);
      if (!kind) throw std::runtime_error("unknown backend " + name);
      const auto probe = pvt::kernels::probe_backend(*kind);
      entry["device"] = probe.device;
      try {
        if (!probe.usable) throw std::runtime_error(probe.reason);
        const auto backend = pvt::kernels::open_backend(*kind);
        entry["device"] = backend->device();
        std::vector<AnalysisResult> got;
        pass(*backend, frames, factor, &got);
        entry["matches_cpu"] = same_integers(reference, got);
        entry["fps_1_stream"] = throughput(*backend, frames, factor, 1, seconds);
        entry["fps_n_streams"] = throughput(*backend, frames, factor, threads, seconds);
      } catch (const std::exception& e) {
        entry["skipped"] = e.what();
      }
      report["backends"].push_back(entry);
    }

    if (json_out) {
      std::printf("%s\n", report.dump(2).c_str());
    } else {
      std::printf("%s: %dx%d %s -> %dx%d, %zu frames; decode alone %.1f fps (%d threads)\n", input.c_str(),
                  info.width, info.height, info.pix_fmt.c_str(), info.width / factor, info.height / factor,
                  frames.size(), report["decode_fps"].get<double>(), threads);
      std::printf("%-8s %12s %14s %8s  %s\n", "backend", "fps 1 stream", "fps N streams", "= cpu", "device");
      for (const auto& e : report["backends"]) {
        if (e.contains("skipped")) {
          std::printf("%-8s skipped: %s\n", e["backend"].get<std::string>().c_str(),
                      e["skipped"].get<std::string>().c_str());
          continue;
        }
        std::printf("%-8s %12.1f %14.1f %8s  %s\n", e["backend"].get<std::string>().c_str(),
                    e["fps_1_stream"].get<double>(), e["fps_n_streams"].get<double>(),
                    e["matches_cpu"].get<bool>() ? "yes" : "NO", e["device"].get<std::string>().c_str());
      }
    }
    for (const auto& e : report["backends"])
      if (e.contains("matches_cpu") && !e["matches_cpu"].get<bool>()) return 1;
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pvt_analysis_bench: error: %s\n", e.what());
    return 1;
  }
}
