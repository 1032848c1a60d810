// `pvt plan --emit k8s-indexed-job`: the manifest, read back by an independent YAML parser (PyYAML),
// agrees with the job folder written beside it (job.json's plan, array/tasks.json, the descriptors);
// names become DNS-1123 labels; the paths the pods read are rewritten to the volume's mount; bad input
// fails in one line, leaving nothing behind. And the folder is one `pvt transcode --resume` takes up:
// the array tasks are run here as the pods would run them, and the resume assembles their segments.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "job_state.hpp"
#include "plan_emit.hpp"
#include "test_support.hpp"

namespace pvt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kPython = "/usr/bin/python3";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Why the manifest cannot be read back here, or empty when it can.
std::string yaml_unavailable() {
  if (!fs::exists(kPython)) return std::string(kPython) + " is not installed";
  const auto r = test::run({kPython, "-c", "import yaml"});
  return r.exit_code == 0 ? "" : "python3-yaml is not installed (scripts/install-deps.sh installs it)";
}

json load_yaml(const fs::path& file) {
  const auto r = test::run({kPython, "-c",
                            "import sys, yaml, json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
                            file.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

JobState state_in(const fs::path& job_dir) {
  return parse_job_state(read_text(job_dir / "job.json"));
}

std::vector<std::string> plan_args(const std::string& in, const std::string& out) {
  return {"plan", in,         "-o",        out,      "--segment-duration",
          "1",    "--preset", "ultrafast", "--emit", "k8s-indexed-job"};
}

int descriptor_files(const fs::path& job_dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(job_dir)) n += e.path().string().ends_with(".task.json");
  return n;
}

bool is_dns_label(const std::string& s) {
  return s.size() <= 63 && std::regex_match(s, std::regex("[a-z0-9]([-a-z0-9]*[a-z0-9])?"));
}

TEST(K8sEmit, ManifestAgreesWithTheJobFolder) {
  if (const auto why = yaml_unavailable(); !why.empty()) GTEST_SKIP() << why;
  test::TempDir dir;
  fs::copy_file(test::scene_clip(true), dir / "clip.mp4");
  auto args = plan_args(dir / "clip.mp4", dir / "film.mp4");
  args.insert(args.end(), {"--workers", "3", "--threads-per-worker", "2", "--mount", "/data",
                           "--volume-claim", "media", "--namespace", "video"});
  const auto r = test::run_pvt(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path job_dir = dir.path() / ".film.mp4.pvt-job";
  const fs::path manifest = job_dir / "k8s-indexed-job.yaml";
  EXPECT_NE(r.out.find(manifest.string()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kubectl apply -f"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--resume"), std::string::npos) << r.out;

  const JobState state = state_in(job_dir);
  const int n = static_cast<int>(state.plan.size());
  ASSERT_GT(n, 1);
  EXPECT_EQ(state.status, "interrupted");
  // The plan shown without --emit is the one written.
  const auto shown = test::run_pvt({"plan", dir / "clip.mp4", "-o", dir / "film.mp4", "--segment-duration",
                                    "1", "--preset", "ultrafast", "--workers", "3"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find(": " + std::to_string(n) + " segments"), std::string::npos) << shown.out;

  const json tasks = json::parse(read_text(job_dir / "array" / "tasks.json"));
  ASSERT_EQ(static_cast<int>(tasks.size()), n);
  EXPECT_EQ(descriptor_files(job_dir), n);
  for (int i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "seg_%05d.task.json", i);
    EXPECT_EQ(tasks[i]["segment"], i);
    EXPECT_EQ(tasks[i]["attempt"], 1);
    EXPECT_EQ(tasks[i]["descriptor"], "/data/.film.mp4.pvt-job/" + std::string(name));
    // The descriptor's paths are the pod's.
    const json d = json::parse(read_text(job_dir / name));
    EXPECT_EQ(d["input"], "/data/clip.mp4");
    EXPECT_EQ(d["output"].get<std::string>().rfind("/data/.film.mp4.pvt-job/seg_", 0), 0u) << d["output"];
    EXPECT_EQ(d["stats"].get<std::string>().rfind("/data/.film.mp4.pvt-job/seg_", 0), 0u) << d["stats"];
    EXPECT_EQ(d["encoder"]["threads"], 2);
    EXPECT_EQ(d["segment"], i);
  }

  const json job = load_yaml(manifest);
  EXPECT_EQ(job["apiVersion"], "batch/v1");
  EXPECT_EQ(job["kind"], "Job");
  EXPECT_EQ(job["metadata"]["name"], "pvt-film-mp4");
  EXPECT_EQ(job["metadata"]["namespace"], "video");
  const json& spec = job["spec"];
  EXPECT_EQ(spec["completionMode"], "Indexed");
  EXPECT_EQ(spec["completions"], n);
  EXPECT_EQ(spec["parallelism"], std::min(3, n));
  EXPECT_EQ(spec["backoffLimitPerIndex"], 1);
  const json& pod = spec["template"]["spec"];
  EXPECT_EQ(pod["restartPolicy"], "Never");
  ASSERT_EQ(pod["containers"].size(), 1u);
  const json& c = pod["containers"][0];
  EXPECT_EQ(c["name"], "worker");
  EXPECT_EQ(c["image"], "pvt:latest");
  EXPECT_EQ(c["command"], json({"pvt", "worker", "--array-task", "/data/.film.mp4.pvt-job"}));
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "2");
  const std::string memory = c["resources"]["requests"]["memory"];
  EXPECT_TRUE(std::regex_match(memory, std::regex("[1-9][0-9]*Mi"))) << memory;
  ASSERT_EQ(c["volumeMounts"].size(), 1u);
  EXPECT_EQ(c["volumeMounts"][0]["name"], "jobs");
  EXPECT_EQ(c["volumeMounts"][0]["mountPath"], "/data");
  ASSERT_EQ(pod["volumes"].size(), 1u);
  EXPECT_EQ(pod["volumes"][0]["name"], "jobs");
  EXPECT_EQ(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], "media");
}

TEST(K8sEmit, OutputNamesBecomeDnsLabels) {
  if (const auto why = yaml_unavailable(); !why.empty()) GTEST_SKIP() << why;
  test::TempDir dir;
  fs::copy_file(test::scene_clip(), dir / "clip.mp4");
  const auto r = test::run_pvt(plan_args(dir / "clip.mp4", dir / "My Film!.mp4"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json job = load_yaml(dir.path() / ".My Film!.mp4.pvt-job" / "k8s-indexed-job.yaml");
  EXPECT_EQ(job["metadata"]["name"], "pvt-my-film-mp4");
  // The spaces and the "!" survive in the paths, which YAML must quote.
  EXPECT_EQ(job["spec"]["template"]["spec"]["containers"][0]["command"][3],
            (dir.path() / ".My Film!.mp4.pvt-job").string());

  // Long and odd names: pod host names are NAME-INDEX, so the name leaves room for the index.
  for (const auto& name :
       std::vector<std::string>{std::string(100, 'A') + ".mp4", "--__.mp4", "Ünïcode Ω.mkv"}) {
    const std::string label = k8s_job_name(name, 1000);
    EXPECT_TRUE(is_dns_label(label)) << name << " -> " << label;
    EXPECT_LE(label.size() + 4, 63u) << label;
  }
}

TEST(K8sEmit, MissingInputFailsInOneLine) {
  test::TempDir dir;
  const auto r = test::run_pvt(plan_args(dir / "missing.mp4", dir / "out.mp4"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("missing.mp4"), std::string::npos) << r.err;
  EXPECT_TRUE(dir.entries().empty());
}

TEST(K8sEmit, InputOffTheVolumeNeedsItsOwnClaim) {
  if (const auto why = yaml_unavailable(); !why.empty()) GTEST_SKIP() << why;
  test::TempDir dir;
  const std::string clip = test::scene_clip();  // in a folder of its own, not beside the output
  auto r = test::run_pvt(plan_args(clip, dir / "out.mp4"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("--input-claim"), std::string::npos) << r.err;
  EXPECT_TRUE(dir.entries().empty());

  auto args = plan_args(clip, dir / "out.mp4");
  args.insert(args.end(), {"--input-claim", "library", "--input-mount", "/in", "--mount", "/jobs"});
  r = test::run_pvt(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path job_dir = dir.path() / ".out.mp4.pvt-job";
  const json job = load_yaml(job_dir / "k8s-indexed-job.yaml");
  const json& pod = job["spec"]["template"]["spec"];
  ASSERT_EQ(pod["volumes"].size(), 2u);
  EXPECT_EQ(pod["volumes"][1]["persistentVolumeClaim"]["claimName"], "library");
  EXPECT_EQ(pod["volumes"][1]["persistentVolumeClaim"]["readOnly"], true);
  EXPECT_EQ(pod["containers"][0]["volumeMounts"][1]["mountPath"], "/in");
  EXPECT_EQ(pod["containers"][0]["volumeMounts"][1]["readOnly"], true);
  const json d = json::parse(read_text(job_dir / "seg_00000.task.json"));
  EXPECT_EQ(d["input"], "/in/" + fs::path(clip).filename().string());
}

// The pods' part played here: each array task run as Kubernetes runs it (JOB_COMPLETION_INDEX), on the
// descriptors as written (the default mount is the local path). What they finish passes the job's checks,
// and a resume with that state assembles it without encoding anything again.
TEST(K8sEmit, ResumeAssemblesTheSegmentsTheTasksFinished) {
  test::TempDir dir;
  fs::copy_file(test::scene_clip(true), dir / "clip.mp4");
  const std::string out = dir / "film.mp4";
  auto r = test::run_pvt(plan_args(dir / "clip.mp4", out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path job_dir = dir.path() / ".film.mp4.pvt-job";
  JobState state = state_in(job_dir);
  const int n = static_cast<int>(state.plan.size());
  for (int i = 0; i < n; ++i) {
    r = test::run_pvt({"worker", "--array-task", job_dir.string()},
                      {"JOB_COMPLETION_INDEX=" + std::to_string(i)});
    ASSERT_EQ(r.exit_code, 0) << "task " << i << ": " << r.err;
  }

  // A task whose result says it failed is not taken, whatever its files hold.
  const fs::path result = job_dir / "array" / "task_1.result.json";
  const std::string ok = read_text(result);
  json failed = json::parse(ok);
  failed["exit_code"] = 1;
  std::ofstream(result) << failed.dump();
  EXPECT_EQ(static_cast<int>(finished_array_tasks(job_dir, state).size()), n - 1);
  std::ofstream(result) << ok;

  const auto finished = finished_array_tasks(job_dir, state);
  ASSERT_EQ(static_cast<int>(finished.size()), n);
  // The state as the resume takes it up (prepare_job_folder adds what finished_array_tasks finds).
  state.finished = finished;
  std::ofstream(job_dir / "job.json") << job_state_text(state);
  r = test::run_pvt({"transcode", dir / "clip.mp4", "-o", out, "--segment-duration", "1", "--preset",
                     "ultrafast", "--resume", "--progress", "none", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json summary = json::parse(r.out);
  EXPECT_EQ(summary["segments_reused"], n);
  EXPECT_EQ(summary["segments_encoded"], 0);
  EXPECT_EQ(test::ffprobe_frames(out), 200);
  EXPECT_FALSE(fs::exists(job_dir));
}

}  // namespace
}  // namespace pvt
