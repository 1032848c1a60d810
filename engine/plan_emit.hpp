// `pvt plan`: the plan a transcode would run, without running it. With --emit k8s-indexed-job the job
// folder is written ahead, every segment's descriptor and the array task list (array_task.hpp) in it,
// beside a Kubernetes Indexed Job whose pod i runs `pvt worker --array-task JOBDIR` on segment i; the
// output is assembled afterwards here, by `pvt transcode --resume` on the same folder.
//
// The pods see the job folder on a PersistentVolumeClaim: the folder's parent (the output's folder) is
// the volume, mounted in the pod at `mount`. Every path a pod reads (descriptors, the task list, the
// input) is rewritten from this machine's prefix to the pod's. The input is on that volume too, or on a
// second claim of its own (input_claim, mounted read-only).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "job_state.hpp"
#include "segment_plan.hpp"
#include "transcode_job.hpp"

namespace pvt {

struct KubernetesOptions {
  std::string image = "pvt:latest";
  std::string name_space;  // metadata.namespace; empty: kubectl's current one
  std::string volume_claim = "pvt-jobs";
  std::string mount;        // where the claim is mounted in the pod; empty: the job folder's parent here
  std::string input_claim;  // the input's own claim; empty: the input is on volume_claim
  std::string input_mount;  // where input_claim is mounted; empty: the input's folder here
};

// What `pvt plan` shows and writes.
struct PlanSummary {
  std::string input;
  std::string output;  // the final path
  std::string format;
  Plan plan;
  int workers = 1;  // the pods (or local workers) the plan was balanced for: spec.parallelism
  int threads_per_worker = 1;
  std::int64_t worker_memory = 0;  // bytes, the local pool's estimate of one worker's peak
  // Written by write_plan_folder only:
  std::filesystem::path job_dir;
  std::filesystem::path manifest;
  std::string job_name;  // the Kubernetes Job's metadata.name
};

// The plan as the transcode with these options would make it (from the demux index: the pods' workers
// run on the CPU), probing the input and checking the output path but writing nothing.
PlanSummary preview_plan(const TranscodeOptions& options, const WarnFn& warn);

// The same plan, and the job folder `.NAME.pvt-job` beside the output holding it: job.json (status
// "interrupted", so the resume that assembles the output takes it up), every segment's descriptor,
// array/tasks.json and k8s-indexed-job.yaml. An earlier job folder for this output is started over.
// Throws Error(kUsage) when a path a pod needs is not on one of its volumes.
PlanSummary write_plan_folder(const TranscodeOptions& options, const KubernetesOptions& k8s,
                              const WarnFn& warn);

// A DNS-1123 label from an output's name ("My Film!.mp4" -> "pvt-my-film-mp4"), short enough that the
// pods' host names, NAME-INDEX for indices below `completions`, are labels too.
std::string k8s_job_name(const std::string& output_name, int completions);

// YAML block text of a JSON document, keys in their order; strings are quoted only where YAML would
// read them as something else (a number, a boolean) or could not read them plain.
std::string yaml_text(const nlohmann::ordered_json& doc);

// The segments of `state`'s plan that array tasks finished and the job's own checks accept (the task's
// result for its current attempt says success, its stats and its file hold the planned frames, in
// order), as the job state records finished segments. A resume appends them to state.finished, so it
// assembles what the pods encoded instead of encoding it again. Those already in state.finished are
// left out.
std::vector<FinishedSegment> finished_array_tasks(const std::filesystem::path& job_dir,
                                                  const JobState& state);

}  // namespace pvt
