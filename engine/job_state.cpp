#include "job_state.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

#include "error.hpp"
#include "json_read.hpp"

extern "C" {
#include <libavutil/hash.h>
}

namespace pvt {

using nlohmann::json;
using namespace json_read;

namespace {

struct HashDeleter {
  void operator()(AVHashContext* c) const { av_hash_freep(&c); }
};

class Sha256 {
 public:
  Sha256() {
    AVHashContext* c = nullptr;
    if (av_hash_alloc(&c, "SHA256") < 0) throw std::bad_alloc();
    ctx_.reset(c);
    av_hash_init(ctx_.get());
  }
  void update(const unsigned char* data, std::size_t size) {
    // FFmpeg 5.1 takes an int length.
    constexpr std::size_t kChunk = 1 << 30;
    for (std::size_t done = 0; done < size; done += kChunk)
      av_hash_update(ctx_.get(), data + done, static_cast<int>(std::min(kChunk, size - done)));
  }
  std::string hex() {
    char out[2 * 32 + 1] = {};
    av_hash_final_hex(ctx_.get(), reinterpret_cast<std::uint8_t*>(out), sizeof out);
    return out;
  }

 private:
  std::unique_ptr<AVHashContext, HashDeleter> ctx_;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_for_reading(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) throw Error(ErrorCode::kInput, path + ": cannot read: " + std::strerror(errno));
  return f;
}

// Reads [offset, offset + length) into the hash; a short file just ends early.
void hash_range(Sha256& h, std::FILE* f, std::int64_t offset, std::int64_t length) {
  if (fseeko(f, offset, SEEK_SET) != 0) return;
  std::vector<unsigned char> buf(1 << 16);
  while (length > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(length, buf.size()));
    const std::size_t got = std::fread(buf.data(), 1, want, f);
    if (got == 0) break;
    h.update(buf.data(), got);
    length -= static_cast<std::int64_t>(got);
  }
}

json fingerprint_json(const InputFingerprint& f) {
  return json{{"path", path_json(f.path)},
              {"size", f.size},
              {"mtime_ns", f.mtime_ns},
              {"sample_sha256", f.sample_sha256},
              {"frames", f.frames}};
}

InputFingerprint fingerprint_from(const json& j) {
  InputFingerprint f;
  f.path = path_from_json(j.at("path"), ErrorCode::kInput);
  get_integer(j, "size", f.size, ErrorCode::kInput);
  get_integer(j, "mtime_ns", f.mtime_ns, ErrorCode::kInput);
  j.at("sample_sha256").get_to(f.sample_sha256);
  get_integer(j, "frames", f.frames, ErrorCode::kInput);
  return f;
}

json finished_json(const FinishedSegment& s) {
  json j{{"index", s.index},
         {"file", s.file},
         {"sha256", s.sha256},
         {"stats", s.stats},
         {"attempts", s.attempts},
         {"fallback_from", s.fallback_from},
         {"fallback_reason", s.fallback_reason},
         {"target_bitrate", s.target_bitrate},
         {"peak_rss_bytes", s.peak_rss_bytes}};
  if (!s.rung_files.empty()) {
    j["rung_files"] = s.rung_files;
    j["rung_sha256"] = s.rung_sha256;
  }
  return j;
}

FinishedSegment finished_from(const json& j) {
  FinishedSegment s;
  get_integer(j, "index", s.index, ErrorCode::kInput);
  j.at("file").get_to(s.file);
  j.at("sha256").get_to(s.sha256);
  j.at("stats").get_to(s.stats);
  get_integer(j, "attempts", s.attempts, ErrorCode::kInput);
  j.at("fallback_from").get_to(s.fallback_from);
  j.at("fallback_reason").get_to(s.fallback_reason);
  get_integer(j, "target_bitrate", s.target_bitrate, ErrorCode::kInput);
  get_integer(j, "peak_rss_bytes", s.peak_rss_bytes, ErrorCode::kInput);
  if (j.contains("rung_files")) {
    j.at("rung_files").get_to(s.rung_files);
    j.at("rung_sha256").get_to(s.rung_sha256);
    if (s.rung_sha256.size() != s.rung_files.size())
      throw Error(ErrorCode::kInput,
                  "segment " + std::to_string(s.index) + " has rung files without checksums");
  }
  // A file name is joined to the job folder: a name with a separator could point anywhere.
  std::vector<std::string> names{s.file};
  names.insert(names.end(), s.rung_files.begin(), s.rung_files.end());
  for (const auto& name : names)
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      throw Error(ErrorCode::kInput, "segment file name '" + name + "' is not a plain file name");
  return s;
}

// The plan must still describe a sequence of segments that a worker can encode: checked here so that
// a damaged job.json is refused with a message instead of starting absurd workers.
void check_plan(const JobState& s) {
  int next = s.plan.empty() ? 0 : s.plan.front().start_frame;
  for (std::size_t i = 0; i < s.plan.size(); ++i) {
    const Segment& seg = s.plan[i];
    if (seg.index != static_cast<int>(i) || seg.start_frame != next || seg.end_frame <= seg.start_frame ||
        seg.seek_keyframe < 0 || seg.seek_keyframe > seg.start_frame)
      throw Error(ErrorCode::kInput, "segment " + std::to_string(i) + " of the plan is inconsistent");
    next = seg.end_frame;
  }
  if (!s.plan.empty() && (s.plan.front().start_frame != 0 || next != s.input.frames))
    throw Error(ErrorCode::kInput, "the plan does not cover the input's frames");
  for (const auto& f : s.finished)
    if (f.index < 0 || f.index >= static_cast<int>(s.plan.size()))
      throw Error(ErrorCode::kInput, "finished segment " + std::to_string(f.index) + " is not in the plan");
  if (s.threads_per_worker < 1 || s.threads_per_worker > 1024)
    throw Error(ErrorCode::kInput, "threads_per_worker is out of range");
}

std::string setting_text(const json& v) {
  if (v.is_null()) return "(unset)";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

const FinishedSegment* JobState::finished_segment(int index) const {
  for (const auto& f : finished)
    if (f.index == index) return &f;
  return nullptr;
}

void to_json(json& j, const Segment& s) {
  j = json{{"index", s.index},
           {"start_frame", s.start_frame},
           {"end_frame", s.end_frame},
           {"start_pts", s.start_pts},
           {"end_pts", s.end_pts},
           {"seek_keyframe", s.seek_keyframe},
           {"start_s", s.start_s},
           {"duration_s", s.duration_s},
           {"cut_reason", s.cut_reason},
           {"cost", s.cost},
           {"content_cost", s.content_cost},
           {"complexity", s.complexity},
           {"bit_budget", s.bit_budget},
           {"forced_keyframes", s.forced_keyframes},
           {"piece_starts", s.piece_starts}};
}

void from_json(const json& j, Segment& s) {
  get_integer(j, "index", s.index, ErrorCode::kInput);
  get_integer(j, "start_frame", s.start_frame, ErrorCode::kInput);
  get_integer(j, "end_frame", s.end_frame, ErrorCode::kInput);
  get_integer(j, "start_pts", s.start_pts, ErrorCode::kInput);
  get_integer(j, "end_pts", s.end_pts, ErrorCode::kInput);
  get_integer(j, "seek_keyframe", s.seek_keyframe, ErrorCode::kInput);
  get_finite(j, "start_s", s.start_s, ErrorCode::kInput);
  get_finite(j, "duration_s", s.duration_s, ErrorCode::kInput);
  j.at("cut_reason").get_to(s.cut_reason);
  get_finite(j, "cost", s.cost, ErrorCode::kInput);
  if (j.contains("content_cost")) get_finite(j, "content_cost", s.content_cost, ErrorCode::kInput);
  if (s.content_cost < 0 || s.content_cost > s.cost)
    throw Error(ErrorCode::kInput, "segment " + std::to_string(s.index) + ": content_cost outside [0, cost]");
  get_finite(j, "complexity", s.complexity, ErrorCode::kInput);
  get_integer(j, "bit_budget", s.bit_budget, ErrorCode::kInput);
  get_integers(j, "forced_keyframes", s.forced_keyframes, ErrorCode::kInput);
  if (j.contains("piece_starts")) get_integers(j, "piece_starts", s.piece_starts, ErrorCode::kInput);
}

std::string job_state_text(const JobState& s) {
  json finished = json::array();
  for (const auto& f : s.finished) finished.push_back(finished_json(f));
  json j{{"version", s.version},
         {"job_id", s.job_id},
         {"output", path_json(s.output)},
         {"format", s.format},
         {"input", fingerprint_json(s.input)},
         {"settings", s.settings},
         {"threads_per_worker", s.threads_per_worker},
         {"plan_basis", s.plan_basis},
         {"plan", s.plan},
         {"finished", finished},
         {"status", s.status},
         {"message", s.message},
         {"started", s.started},
         {"updated", s.updated},
         {"pid", s.pid}};
  if (!s.slurm_job_ids.empty()) j["slurm_job_ids"] = s.slurm_job_ids;
  return j.dump(1) + "\n";
}

JobState parse_job_state(std::string_view text) {
  const json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(ErrorCode::kInput, "job state is not a JSON object");
  JobState s;
  try {
    get_integer(j, "version", s.version, ErrorCode::kInput);
    if (s.version != kJobStateVersion)
      throw Error(ErrorCode::kInput, "job state version " + std::to_string(s.version) +
                                         " is not supported (this pvt reads version " +
                                         std::to_string(kJobStateVersion) + ")");
    j.at("job_id").get_to(s.job_id);
    s.output = path_from_json(j.at("output"), ErrorCode::kInput);
    j.at("format").get_to(s.format);
    s.input = fingerprint_from(j.at("input"));
    s.settings = j.at("settings");
    if (!s.settings.is_object()) throw Error(ErrorCode::kInput, "job state settings are not an object");
    get_integer(j, "threads_per_worker", s.threads_per_worker, ErrorCode::kInput);
    j.at("plan_basis").get_to(s.plan_basis);
    j.at("plan").get_to(s.plan);
    for (const auto& f : j.at("finished")) s.finished.push_back(finished_from(f));
    j.at("status").get_to(s.status);
    j.at("message").get_to(s.message);
    j.at("started").get_to(s.started);
    j.at("updated").get_to(s.updated);
    get_integer(j, "pid", s.pid, ErrorCode::kInput);
    if (j.contains("slurm_job_ids")) j.at("slurm_job_ids").get_to(s.slurm_job_ids);
  } catch (const json::exception& e) {
    throw Error(ErrorCode::kInput, std::string("job state is malformed: ") + e.what());
  }
  check_plan(s);
  return s;
}

InputFingerprint fingerprint_input(const std::string& path, std::int64_t frames) {
  InputFingerprint f;
  f.path = path;
  f.frames = frames;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    throw Error(ErrorCode::kInput, path + ": cannot read: " + std::strerror(errno));
  f.size = st.st_size;
  f.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  constexpr std::int64_t kSample = 1 << 20;
  Sha256 h;
  const File file = open_for_reading(path);
  hash_range(h, file.get(), 0, kSample);
  if (f.size > kSample) hash_range(h, file.get(), std::max(kSample, f.size - kSample), kSample);
  f.sample_sha256 = h.hex();
  return f;
}

std::vector<std::string> resume_conflicts(const JobState& saved, const InputFingerprint& now,
                                          const json& settings) {
  std::vector<std::string> why;
  const InputFingerprint& was = saved.input;
  if (was.path != now.path)
    why.push_back("the input is another file (" + was.path + " -> " + now.path + ")");
  else if (was.size != now.size)
    why.push_back("the input changed: size " + std::to_string(was.size) + " -> " + std::to_string(now.size) +
                  " bytes");
  else if (was.mtime_ns != now.mtime_ns)
    why.push_back("the input was modified since the job started");
  else if (was.sample_sha256 != now.sample_sha256 || was.frames != now.frames)
    why.push_back("the input's content changed");
  json keys = json::object();
  for (const auto& [k, v] : saved.settings.items()) keys[k] = true;
  for (const auto& [k, v] : settings.items()) keys[k] = true;
  for (const auto& [k, unused] : keys.items()) {
    const json a = saved.settings.contains(k) ? saved.settings[k] : json();
    const json b = settings.contains(k) ? settings[k] : json();
    if (a != b) why.push_back(k + " " + setting_text(a) + " -> " + setting_text(b));
  }
  return why;
}

std::string sha256_file(const std::string& path) {
  Sha256 h;
  const File file = open_for_reading(path);
  hash_range(h, file.get(), 0, INT64_MAX);
  if (std::ferror(file.get())) throw Error(ErrorCode::kInput, path + ": read error");
  return h.hex();
}

std::string utc_now_text() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace pvt
