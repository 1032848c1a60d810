#include "plan_emit.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <set>

#include "array_task.hpp"
#include "atomic_file.hpp"
#include "error.hpp"
#include "job_context.hpp"
#include "job_resume.hpp"
#include "segment_describe.hpp"
#include "stage_analyze.hpp"
#include "stage_plan.hpp"
#include "stage_probe.hpp"
#include "system_resources.hpp"
#include "verify_output.hpp"

namespace pvt {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

constexpr const char* kManifestName = "k8s-indexed-job.yaml";

// A planned job's options: the pods' workers run on the CPU (no GPU is assumed in a pod, so the kernels
// are named, not probed for here), as many as the machine has cores unless --workers says, and a plan
// always starts its folder over (its finished work, if any, belongs to a Job being replaced).
TranscodeOptions planned_options(TranscodeOptions o) {
  o.analysis_backend = "cpu";
  if (o.workers <= 0) o.workers = usable_cores();
  o.resume = false;
  o.restart = true;
  return o;
}

// The same plan options as the plan stage's for a fresh, constant-quality job (`pvt plan` has no
// --bitrate): what the preview shows is what write_plan_folder saves.
PlanOptions preview_plan_options(const TranscodeOptions& o, const std::string& format, int workers) {
  PlanOptions po;
  po.target_s = o.segment_duration;
  po.min_s = o.min_segment;
  po.max_s = o.max_segment;
  po.workers = workers;
  po.shrink_for_workers = format != "hls" && o.bitrate == 0;
  po.group_playlist = format == "hls" && o.group_playlist;
  po.encoder_keys_scene_changes = encoder_keys_scene_changes(o.encoder);
  po.dropped_frame_cost = dropped_frame_cost_for_preset(o.preset);
  return po;
}

bool is_dns_label(const std::string& s, std::size_t max_size, bool dots) {
  if (s.empty() || s.size() > max_size || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [dots](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (dots && c == '.');
  });
}

void check_k8s_options(const KubernetesOptions& k) {
  if (k.image.empty()) throw Error(ErrorCode::kUsage, "--image must name a container image");
  if (!k.name_space.empty() && !is_dns_label(k.name_space, 63, false))
    throw Error(ErrorCode::kUsage,
                "--namespace '" + k.name_space + "' is not a Kubernetes name (lowercase letters, digits, -)");
  for (const auto* claim : {&k.volume_claim, &k.input_claim})
    if ((claim == &k.volume_claim || !claim->empty()) && !is_dns_label(*claim, 253, true))
      throw Error(ErrorCode::kUsage, "'" + *claim +
                                         "' is not a PersistentVolumeClaim name (lowercase letters, "
                                         "digits, - and .)");
  for (const auto* mount : {&k.mount, &k.input_mount})
    if (!mount->empty() && !fs::path(*mount).is_absolute())
      throw Error(ErrorCode::kUsage, "a mount path in the pod must be absolute, not '" + *mount + "'");
  if (k.input_claim.empty() && !k.input_mount.empty())
    throw Error(ErrorCode::kUsage, "--input-mount needs --input-claim");
}

// `path` under `prefix` (both absolute and normal): the rest of it; nullopt when it is elsewhere.
std::optional<fs::path> relative_under(const fs::path& path, const fs::path& prefix) {
  auto p = path.begin();
  for (auto q = prefix.begin(); q != prefix.end(); ++q, ++p) {
    if (q->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *q) return std::nullopt;
  }
  fs::path rest;
  for (; p != path.end(); ++p) rest /= *p;
  return rest;
}

// This machine's paths as a pod sees them: a folder here (as given and as the kernel resolves it, so a
// symlinked output folder still matches the canonical input path) and the folder in the pod it is
// mounted at.
class PodPaths {
 public:
  void add(const fs::path& here, const fs::path& in_pod) {
    const fs::path normal = fs::absolute(here).lexically_normal();
    maps_.push_back({normal, in_pod});
    const fs::path canonical = fs::weakly_canonical(normal);
    if (canonical != normal) maps_.push_back({canonical, in_pod});
  }
  std::optional<std::string> map(const std::string& path) const {
    const fs::path p = fs::path(path).lexically_normal();
    for (const auto& [here, in_pod] : maps_)
      if (const auto rest = relative_under(p, here)) return (in_pod / *rest).lexically_normal().string();
    return std::nullopt;
  }
  std::string must_map(const std::string& path, const std::string& what) const {
    if (auto p = map(path)) return *p;
    throw Error(ErrorCode::kUsage, what);
  }

 private:
  std::vector<std::pair<fs::path, fs::path>> maps_;
};

std::string memory_quantity(std::int64_t bytes) {
  constexpr std::int64_t kMi = 1 << 20;
  return std::to_string(std::max<std::int64_t>(1, (bytes + kMi - 1) / kMi)) + "Mi";
}

// The Indexed Job: pod i runs array task i. Retries are Kubernetes' (backoffLimitPerIndex), each index
// on its own, so one bad segment does not use up the others' retries.
ojson indexed_job(const PlanSummary& s, const KubernetesOptions& k, const std::string& job_dir_in_pod,
                  const std::string& jobs_mount, const std::string& input_mount) {
  const ojson labels{{"app.kubernetes.io/name", "pvt"}, {"app.kubernetes.io/instance", s.job_name}};
  ojson metadata{{"name", s.job_name}};
  if (!k.name_space.empty()) metadata["namespace"] = k.name_space;
  metadata["labels"] = labels;
  ojson mounts = ojson::array({{{"name", "jobs"}, {"mountPath", jobs_mount}}});
  ojson volumes =
      ojson::array({{{"name", "jobs"}, {"persistentVolumeClaim", {{"claimName", k.volume_claim}}}}});
  if (!k.input_claim.empty()) {
    mounts.push_back({{"name", "input"}, {"mountPath", input_mount}, {"readOnly", true}});
    volumes.push_back(
        {{"name", "input"}, {"persistentVolumeClaim", {{"claimName", k.input_claim}, {"readOnly", true}}}});
  }
  // Requests only: a memory limit would kill a worker whose peak the model (an estimate, fitted to
  // measurements) undershoots, where a request only places the pod.
  const ojson container{
      {"name", "worker"},
      {"image", k.image},
      {"command", ojson::array({"pvt", "worker", "--array-task", job_dir_in_pod})},
      {"resources",
       {{"requests",
         {{"cpu", std::to_string(s.threads_per_worker)}, {"memory", memory_quantity(s.worker_memory)}}}}},
      {"volumeMounts", mounts}};
  const int completions = static_cast<int>(s.plan.segments.size());
  return ojson{{"apiVersion", "batch/v1"},
               {"kind", "Job"},
               {"metadata", metadata},
               {"spec",
                {{"completionMode", "Indexed"},
                 {"completions", completions},
                 {"parallelism", std::min(s.workers, completions)},
                 {"backoffLimitPerIndex", 1},  // needs restartPolicy Never (Kubernetes 1.28+)
                 {"template",
                  {{"metadata", {{"labels", labels}}},
                   {"spec",
                    {{"restartPolicy", "Never"},
                     {"containers", ojson::array({container})},
                     {"volumes", volumes}}}}}}}};
}

bool plain_yaml(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '/' || s[0] == '_'))
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("._/-", c)) return false;
  // What YAML 1.1 readers (PyYAML, older kubectl) take for booleans or null.
  static const std::set<std::string> special{"y", "n", "yes", "no", "on", "off", "true", "false", "null"};
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return !special.count(lower);
}

std::string yaml_scalar(const ojson& v) {
  if (v.is_string() && plain_yaml(v.get<std::string>())) return v.get<std::string>();
  // JSON's double-quoted strings, numbers and literals are YAML's too.
  return v.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

bool yaml_block(const ojson& v) {
  return (v.is_object() || v.is_array()) && !v.empty();
}

void emit_yaml(const ojson& v, int indent, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      out += pad + yaml_scalar(key) + ":";
      if (yaml_block(value)) {
        out += "\n";
        emit_yaml(value, indent + 2, out);
      } else {
        out += " " + yaml_scalar(value) + "\n";
      }
    }
    return;
  }
  for (const auto& item : v) {
    if (item.is_object() && !item.empty()) {
      // The item's first key goes on the dash's line: "- name: worker".
      std::string block;
      emit_yaml(item, indent + 2, block);
      block.replace(static_cast<std::size_t>(indent), 2, "- ");
      out += block;
    } else if (yaml_block(item)) {
      out += pad + "-\n";
      emit_yaml(item, indent + 2, out);
    } else {
      out += pad + "- " + yaml_scalar(item) + "\n";
    }
  }
}

// A path in a YAML comment line: a line break in it would end the comment.
std::string comment_text(std::string s) {
  std::replace_if(
      s.begin(), s.end(), [](unsigned char c) { return c < 0x20; }, '?');
  return s;
}

}  // namespace

std::string k8s_job_name(const std::string& output_name, int completions) {
  std::string name = "pvt-";
  for (unsigned char c : output_name) {
    const bool keep = std::isalnum(c) && c < 0x80;
    if (keep)
      name += static_cast<char>(std::tolower(c));
    else if (name.back() != '-')
      name += '-';
  }
  // Pod host names are NAME-INDEX, and a host name is a label of at most 63 characters.
  const std::size_t digits = std::to_string(std::max(0, completions - 1)).size();
  name.resize(std::min(name.size(), 63 - 1 - digits));
  while (name.back() == '-') name.pop_back();
  return name;
}

std::string yaml_text(const ojson& doc) {
  std::string out;
  emit_yaml(doc, 0, out);
  return out;
}

PlanSummary preview_plan(const TranscodeOptions& options, const WarnFn& warn) {
  const TranscodeOptions o = planned_options(options);
  const ProbeResult probe = probe_stage(o, warn);
  const WorkerBudget budget = worker_budget(o, probe.info, nullptr);
  PlanSummary s;
  s.input = probe.info.path;
  s.output = probe.target.final_path;
  s.format = probe.target.format;
  s.plan = plan_segments(probe.info, nullptr, preview_plan_options(o, s.format, budget.workers));
  s.workers = budget.workers;
  s.threads_per_worker = budget.threads_per_worker;
  s.worker_memory = budget.worker_memory;
  return s;
}

PlanSummary write_plan_folder(const TranscodeOptions& options, const KubernetesOptions& k8s,
                              const WarnFn& warn) {
  check_k8s_options(k8s);
  const TranscodeOptions o = planned_options(options);
  if (o.bitrate > 0)
    throw Error(ErrorCode::kUsage,
                "a planned job encodes at constant quality (--crf): the bit budgets of "
                "--bitrate are shared out as segments finish, which needs the job running");
  const ProbeResult probe = probe_stage(o, warn);
  // Checked before the job folder is made, so a command that cannot succeed leaves nothing behind.
  PodPaths pod;
  const fs::path jobs_here = fs::absolute(probe.target.work_parent).lexically_normal();
  const fs::path jobs_mount = k8s.mount.empty() ? jobs_here : fs::path(k8s.mount).lexically_normal();
  pod.add(jobs_here, jobs_mount);
  const fs::path input_here = fs::weakly_canonical(fs::absolute(probe.info.path));
  fs::path input_mount;
  if (!k8s.input_claim.empty()) {
    input_mount = k8s.input_mount.empty() ? input_here.parent_path() : fs::path(k8s.input_mount);
    if (relative_under(input_mount, jobs_mount) || relative_under(jobs_mount, input_mount))
      throw Error(ErrorCode::kUsage, "the input's volume (mounted at " + input_mount.string() +
                                         ") and the job folder's (at " + jobs_mount.string() +
                                         ") would be mounted one inside the other; give --input-mount");
  }
  PodPaths input_pod = pod;
  if (!k8s.input_claim.empty()) input_pod.add(input_here.parent_path(), input_mount);
  const std::string input_in_pod = input_pod.must_map(
      input_here.string(), input_here.string() + " is not on the volume claim " + k8s.volume_claim +
                               " (the job folder's parent, " + jobs_here.string() +
                               "): the pods cannot read it; move it there or name its volume with "
                               "--input-claim");

  JobContext job(o, probe, {}, warn, JobClock::now());
  prepare_job_folder(job);
  const AnalyzeResult analyzed = analyze_stage(job, probe.info);
  const JobPlan planned = plan_stage(job, probe, analyzed);
  PlanSummary s;
  s.input = job.input_path;
  s.output = probe.target.final_path;
  s.format = probe.target.format;
  s.plan = planned.plan;
  s.workers = job.budget.workers;
  s.threads_per_worker = job.budget.threads_per_worker;
  s.worker_memory = job.budget.worker_memory;
  s.job_dir = job.dir.dir();
  s.manifest = job.dir.dir() / kManifestName;
  s.job_name = k8s_job_name(probe.target.job_name, static_cast<int>(s.plan.segments.size()));
  const std::string where = "is not under the job folder's parent " + jobs_here.string();
  std::vector<ArrayTaskEntry> tasks;
  for (const auto& seg : s.plan.segments) {
    SegmentDescriptor d = describe_segment(job, probe, s.plan, seg);
    d.input = input_in_pod;
    d.output = pod.must_map(d.output, d.output + where);
    d.stats = pod.must_map(d.stats, d.stats + where);
    const std::string path = job.segment_path(seg.index, ".task.json").string();
    write_json_file(path, nlohmann::json(d));
    tasks.push_back({seg.index, pod.must_map(path, path + where), 1});
  }
  write_array_tasks(job.dir.dir(), tasks);
  const std::string job_dir_in_pod = pod.must_map(s.job_dir.string(), s.job_dir.string() + where);
  const ojson manifest = indexed_job(s, k8s, job_dir_in_pod, jobs_mount.string(), input_mount.string());
  write_file_atomically(
      s.manifest.string(),
      "# Written by `pvt plan --emit k8s-indexed-job`: pod i encodes segment i of " + comment_text(s.input) +
          "\n# into the job folder " + comment_text(s.job_dir.string()) +
          " (in the pod: " + comment_text(job_dir_in_pod) +
          ").\n# Run it with `kubectl apply -f` on this file; when every index has succeeded,\n"
          "# `pvt transcode --resume` with the same output and options assembles the output.\n" +
          yaml_text(manifest));
  // Taken up by the resume that assembles the output; until then the job is waiting on the cluster.
  job.state.status = "interrupted";
  job.state.message = "planned for the Kubernetes Indexed Job " + s.job_name + " (" + kManifestName + ")";
  job.dir.save(job.state);
  job.dir.keep(true);
  return s;
}

std::vector<FinishedSegment> finished_array_tasks(const fs::path& job_dir, const JobState& state) {
  std::vector<ArrayTaskEntry> entries;
  try {
    entries = read_array_tasks(job_dir);
  } catch (const Error&) {
    return {};  // no task list: nothing ran as array tasks
  }
  std::vector<FinishedSegment> found;
  // Array index i ran entry i's segment (a Slurm array numbers its tasks longest first).
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const ArrayTaskEntry& entry = entries[i];
    if (entry.segment < 0 || entry.segment >= static_cast<int>(state.plan.size()) || entry.attempt <= 0 ||
        state.finished_segment(entry.segment))
      continue;
    const Segment& seg = state.plan[static_cast<std::size_t>(entry.segment)];
    const auto result = read_array_result(job_dir, static_cast<int>(i));
    if (!result || result->exit_code != 0 || result->attempt != entry.attempt || result->segment != seg.index)
      continue;
    // The task list names the files as the pods saw them; here they are the same names in the job folder.
    try {
      const SegmentDescriptor d = read_descriptor((job_dir / fs::path(entry.descriptor).filename()).string());
      const fs::path file = job_dir / fs::path(d.output).filename();
      const WorkerStats stats = read_worker_stats((job_dir / fs::path(d.stats).filename()).string());
      // The job's own check, as for a segment its local workers finish: not the worker's word alone.
      const OutputReport r = inspect_output(file.string());
      if (stats.frames != seg.frame_count() || r.video_frames != seg.frame_count() || !r.dts_monotonic)
        continue;
      FinishedSegment f;
      f.index = seg.index;
      f.file = file.filename().string();
      f.sha256 = sha256_file(file.string());
      f.stats = stats;
      f.attempts = entry.attempt;
      f.target_bitrate = d.encoder.bitrate;
      found.push_back(std::move(f));
    } catch (const std::exception&) {
      continue;  // a file missing or unreadable: the resume encodes the segment again
    }
  }
  return found;
}

}  // namespace pvt
