#include "job_resources.hpp"

#include <fstream>
#include <iterator>

#include "job_status_json.hpp"
#include "json_rpc.hpp"
#include "message_text.hpp"
#include "timeline_png.hpp"
#include "timeline_svg.hpp"

extern "C" {
#include <libavutil/base64.h>
}

namespace pvt::mcp {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kPrefix = "pvt://jobs/";  // job_resource_uri
constexpr std::size_t kResourcesPerPage = 200;

const JobReportKind* find_report(const std::string& what) {
  for (const auto& r : job_report_kinds())
    if (what == r.what) return &r;
  return nullptr;
}

[[noreturn]] void not_found(const std::string& uri, const std::string& why) {
  throw rpc::RpcError(kResourceNotFound, "Resource not found: " + excerpt(uri) + " (" + why + ")");
}

// file:///a%20b -> /a b; empty when it is not a plain local file URI.
std::string file_path(const std::string& uri) {
  if (uri.rfind("file://", 0) != 0) return {};
  std::string out;
  if (uri.find('\0') != std::string::npos) return {};
  for (std::size_t i = 7; i < uri.size(); ++i) {
    if (uri[i] != '%') {
      out.push_back(uri[i]);
      continue;
    }
    if (i + 2 >= uri.size()) return {};
    const std::string hex = uri.substr(i + 1, 2);
    if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) return {};
    const char c = static_cast<char>(std::stoi(hex, nullptr, 16));
    if (c == '\0') return {};
    out.push_back(c);
    i += 2;
  }
  return out.empty() || out[0] != '/' ? std::string() : out;
}

bool is_text(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".m3u8" || ext == ".json" || ext == ".vtt" || ext == ".srt" || ext == ".svg" || ext == ".txt";
}

json entry(const std::string& uri, const std::string& name, const std::string& title, const std::string& mime,
           std::optional<std::uintmax_t> size = std::nullopt) {
  json e = {{"uri", uri}, {"name", name}, {"title", title}, {"mimeType", mime}};
  if (size) e["size"] = *size;
  return e;
}

}  // namespace

std::string base64(const void* data, std::size_t size) {
  std::string out(AV_BASE64_SIZE(size), '\0');
  av_base64_encode(out.data(), static_cast<int>(out.size()), static_cast<const std::uint8_t*>(data),
                   static_cast<int>(size));
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

json JobResources::list(const json& params) {
  std::vector<json> all;
  for (const auto& job : env_.jobs.list()) {
    if (!job.report) continue;
    for (const auto& r : job_report_kinds())
      all.push_back(
          entry(job_resource_uri(job.id, r.what), job.id + " " + r.what, job.id + ": " + r.title, r.mime));
    std::error_code ec;
    const auto size = fs::file_size(job.output, ec);
    all.push_back(entry(file_uri(job.output), fs::path(job.output).filename().string(),
                        job.id + ": output (" + job.format + ")", mime_type(job.output),
                        ec ? std::nullopt : std::optional<std::uintmax_t>(size)));
  }
  std::size_t start = 0;
  if (const auto c = params.find("cursor"); c != params.end() && !c->is_null()) {
    const std::string text = c->is_string() ? c->get<std::string>() : std::string();
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(text) > all.size())
      throw rpc::RpcError(rpc::kInvalidParams, "Invalid params: unknown cursor");
    start = std::stoul(text);
  }
  json page = json::array();
  for (std::size_t i = start; i < all.size() && i < start + kResourcesPerPage; ++i) page.push_back(all[i]);
  json result = {{"resources", std::move(page)}};
  if (start + kResourcesPerPage < all.size())
    result["nextCursor"] = std::to_string(start + kResourcesPerPage);
  return result;
}

json JobResources::templates() {
  json list = json::array();
  for (const auto& r : job_report_kinds())
    list.push_back({{"uriTemplate", std::string(kPrefix) + "{job_id}/" + r.what},
                    {"name", std::string("job ") + r.what},
                    {"title", std::string("A transcode job's ") + r.title},
                    {"description", std::string("The ") + r.title +
                                        " of a succeeded job; job_id as transcode_video and list_transcodes "
                                        "report it"},
                    {"mimeType", r.mime}});
  return {{"resourceTemplates", std::move(list)}};
}

json JobResources::read(const std::string& uri) {
  if (uri.rfind(kPrefix, 0) == 0) {
    const std::string rest = uri.substr(std::string(kPrefix).size());
    const auto slash = rest.find('/');
    if (slash == std::string::npos)
      not_found(uri, "expected pvt://jobs/{job_id}/summary, timeline or timeline.png");
    return read_report(rest.substr(0, slash), rest.substr(slash + 1), uri);
  }
  if (uri.rfind("file://", 0) == 0) return read_file(uri);
  throw rpc::RpcError(
      rpc::kInvalidParams,
      "Invalid params: this server has pvt://jobs/... and file:// resources, not " + excerpt(uri));
}

json JobResources::read_report(const std::string& job_id, const std::string& what, const std::string& uri) {
  const JobReportKind* r = find_report(what);
  if (!r) not_found(uri, "a job has summary, timeline and timeline.png");
  const auto job = env_.jobs.status(job_id);
  if (!job) not_found(uri, "no job " + excerpt(job_id) + " in this server session");
  if (!job->report) not_found(uri, job_id + " has not succeeded, so it has no report yet");
  json content = {{"uri", uri}, {"mimeType", r->mime}};
  if (what == "summary")
    content["text"] = job->summary ? job->summary->dump(2) : std::string("{}");
  else if (what == "timeline")
    content["text"] = timeline_svg(*job->report);
  else {
    const auto png = timeline_png(*job->report);
    content["blob"] = base64(png.data(), png.size());
  }
  return {{"contents", json::array({std::move(content)})}};
}

json JobResources::read_file(const std::string& uri) {
  const std::string path = file_path(uri);
  if (path.empty())
    throw rpc::RpcError(rpc::kInvalidParams, "Invalid params: not a local file URI: " + excerpt(uri));
  // Only what lies inside the output directory, judged on the physical path (no symlink out).
  const fs::path physical = resolve_physically(path);
  if (physical.empty() || !env_.sandbox.contains(physical))
    not_found(uri, "only files inside the output directory can be read");
  std::error_code ec;
  if (!fs::is_regular_file(physical, ec)) not_found(uri, "no such file");
  const auto size = fs::file_size(physical, ec);
  if (ec) not_found(uri, ec.message());
  if (size > kMaxResourceBytes)
    throw rpc::RpcError(rpc::kInvalidParams, "Invalid params: " + physical.string() + " is " +
                                                 std::to_string(size >> 20) +
                                                 " MiB, more than a resource read carries (" +
                                                 std::to_string(kMaxResourceBytes >> 20) +
                                                 " MiB); read it from disk at that path");
  // At most the limit, however the file grew since its size was read.
  std::ifstream in(physical, std::ios::binary);
  std::string data(static_cast<std::size_t>(kMaxResourceBytes) + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (data.size() > kMaxResourceBytes)
    throw rpc::RpcError(rpc::kInvalidParams,
                        "Invalid params: " + physical.string() +
                            " grew past what a resource read carries; read it from disk");
  json content = {{"uri", uri}, {"mimeType", mime_type(physical.string())}};
  if (is_text(physical))
    content["text"] = data;
  else
    content["blob"] = base64(data.data(), data.size());
  return {{"contents", json::array({std::move(content)})}};
}

}  // namespace pvt::mcp
