// `pvt plan IN -o OUT [--emit k8s-indexed-job]`: the segment plan `pvt transcode` would run, shown; or
// written ahead as a job folder and a Kubernetes Indexed Job that encodes it on a cluster (plan_emit.hpp).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "plan_emit.hpp"
#include "transcode_job.hpp"

namespace pvt::cli {

namespace {

struct PlanArgs {
  TranscodeOptions options;
  KubernetesOptions k8s;
  std::string emit;
  // The options given that shape the output, as typed: the resume that assembles it must repeat them.
  std::vector<std::pair<std::string, CLI::Option*>> shaping;
};

// A word as a POSIX shell reads it back, for the commands printed to be copied.
std::string shell_word(const std::string& s) {
  if (!s.empty() &&
      s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=+-") ==
          std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string assemble_command(const PlanArgs& a) {
  std::string cmd = "pvt transcode " + shell_word(a.options.input) + " -o " + shell_word(a.options.output);
  for (const auto& [flag, opt] : a.shaping)
    if (opt->count() > 0)
      cmd += " " + flag + (opt->get_expected_min() == 0 ? "" : " " + shell_word(opt->as<std::string>()));
  return cmd + " --resume";
}

// As the manifest's memory request states it: rounded up.
long long mebibytes(std::int64_t bytes) {
  return static_cast<long long>((bytes + (1 << 20) - 1) >> 20);
}

void print_plan(const PlanSummary& s) {
  const Plan& p = s.plan;
  std::printf("plan for %s (%s, from the %s, target %.1f s, bounds %.1f-%.1f s): %zu segments\n",
              s.output.c_str(), s.format.c_str(), p.basis == "analysis" ? "scene analysis" : "demux index",
              p.target_s, p.min_s, p.max_s, p.segments.size());
  std::printf("  balanced for %d workers, %d thread(s) and about %lld MiB each\n", s.workers,
              s.threads_per_worker, mebibytes(s.worker_memory));
  std::printf("  %5s %7s %7s %9s %9s  %-8s %8s\n", "index", "start", "frames", "start s", "duration",
              "reason", "cost");
  for (const auto& seg : p.segments)
    std::printf("  %5d %7d %7d %9.3f %9.3f  %-8s %8.0f\n", seg.index, seg.start_frame, seg.frame_count(),
                seg.start_s, seg.duration_s, seg.cut_reason.c_str(), seg.cost);
}

void print_emitted(const PlanArgs& a, const PlanSummary& s) {
  const std::string kubectl = a.k8s.name_space.empty() ? "kubectl" : "kubectl -n " + a.k8s.name_space;
  const std::size_t n = s.plan.segments.size();
  std::printf(
      "pvt: wrote %s (Kubernetes Indexed Job %s: %zu segments, %d at once, %d CPU and %lld MiB each)\n",
      s.manifest.c_str(), s.job_name.c_str(), n, std::min<int>(s.workers, static_cast<int>(n)),
      s.threads_per_worker, mebibytes(s.worker_memory));
  std::printf("  run it: kubectl apply -f %s\n", shell_word(s.manifest.string()).c_str());
  // The resume takes up the segments the pods finished (finished_array_tasks) and encodes here only
  // those that are missing or fail the job's checks, then assembles and verifies the output.
  std::printf(
      "  then, when all %zu indices have succeeded (%s wait --for=condition=complete job/%s), assemble "
      "the output here: %s\n",
      n, kubectl.c_str(), s.job_name.c_str(), assemble_command(a).c_str());
}

}  // namespace

Runner add_plan_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "plan", "Show the segment plan transcode would run, or write it as a Kubernetes Indexed Job (--emit)");
  auto a = std::make_shared<PlanArgs>();
  auto& o = a->options;
  auto& k = a->k8s;
  cmd->add_option("input", o.input, "video file")->required();
  cmd->add_option("-o,--output", o.output, "the output transcode would write (as for pvt transcode)")
      ->required();
  cmd->add_option(
         "--emit", a->emit,
         "write the job folder beside the output and a manifest to run its segments: k8s-indexed-job")
      ->check(CLI::IsMember({"k8s-indexed-job"}));
  const auto shaping = [&](CLI::Option* opt) {
    a->shaping.emplace_back(opt->get_name(), opt);
    return opt;
  };
  shaping(cmd->add_option("--format", o.format, "hls, mp4, mkv or webm (default: by the output's name)"))
      ->check(CLI::IsMember({"hls", "mp4", "mkv", "webm"}));
  shaping(cmd->add_option("--crf", o.crf, "constant quality, 0-51 (default 23)"))
      ->check(CLI::Range(0.0, 51.0));
  shaping(cmd->add_option("--preset", o.preset, "x264 preset (default medium)"))
      ->check(CLI::IsMember({"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                             "slower", "veryslow", "placebo"}));
  shaping(cmd->add_option("--codec", o.codec, "h264 or hevc (default h264)"))
      ->check(CLI::IsMember({"h264", "hevc", "av1", "vp9"}));
  shaping(cmd->add_option("--segment-duration", o.segment_duration,
                          "target segment length in seconds (default 10)"))
      ->check(CLI::Range(0.1, 3600.0));
  shaping(cmd->add_option("--min-segment", o.min_segment,
                          "shortest segment in seconds (default: half the target)"))
      ->check(CLI::Range(0.0, 3600.0));
  shaping(cmd->add_option("--max-segment", o.max_segment,
                          "longest segment in seconds (default: 1.5x the target)"))
      ->check(CLI::Range(0.0, 3600.0));
  shaping(cmd->add_flag("-y,--overwrite", o.overwrite, "plan for replacing an existing output"));
  cmd->add_option("--workers", o.workers,
                  "workers the plan is balanced for, and the Job's parallelism (default: cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--threads-per-worker", o.threads_per_worker,
                  "encoder threads in each worker, the pod's CPU request (default: cores / workers)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--image", k.image, "container image with pvt on its PATH (default pvt:latest)");
  cmd->add_option("--namespace", k.name_space, "the Job's namespace (default: kubectl's current one)");
  cmd->add_option(
      "--volume-claim", k.volume_claim,
      "PersistentVolumeClaim holding the output's folder, where the job folder is (default pvt-jobs)");
  cmd->add_option("--mount", k.mount,
                  "where that volume is mounted in the pod (default: the output's folder as seen here); "
                  "paths in the descriptors are rewritten to it");
  cmd->add_option(
      "--input-claim", k.input_claim,
      "PersistentVolumeClaim holding the input's folder, when the input is not on --volume-claim");
  cmd->add_option("--input-mount", k.input_mount,
                  "where --input-claim is mounted in the pod (default: the input's folder as seen here)");
  return [a] {
    const WarnFn warn = [](const std::string& w) { std::fprintf(stderr, "pvt: warning: %s\n", w.c_str()); };
    if (a->emit.empty()) {
      print_plan(preview_plan(a->options, warn));
      return 0;
    }
    print_emitted(*a, write_plan_folder(a->options, a->k8s, warn));
    return 0;
  };
}

}  // namespace pvt::cli
