#include "caps_report.hpp"

#include "analysis_backend.hpp"

namespace pvt {

using nlohmann::json;

CapsSection analysis_caps() {
  const AnalysisBackendReport r = probe_analysis_backends();
  CapsSection s;
  s.id = "analysis";
  s.title = "analysis backends";
  s.option = "--analysis-backend";
  s.auto_choice = kernels::backend_name(r.auto_choice);
  s.auto_reason = r.auto_reason;
  for (const auto& p : r.backends) {
    CapsEntry e;
    e.name = kernels::backend_name(p.kind);
    e.available = p.usable;
    e.device = p.device;
    e.note = p.reason;
    e.details = {{"built", p.built}, {"gpu", p.gpu}};
    if (p.kind == kernels::BackendKind::kCuda) {
      e.details["nvdec"] = {{"usable", r.nvdec.usable},
                            {"reason", r.nvdec.reason.empty() ? json(nullptr) : json(r.nvdec.reason)},
                            {"codecs", r.nvdec.codecs}};
    }
    s.entries.push_back(std::move(e));
  }
  return s;
}

CapsReport probe_caps() {
  return {{analysis_caps()}};
}

json caps_json(const CapsReport& report) {
  json j = {{"version", kCapsReportVersion}};
  for (const auto& s : report.sections) {
    json entries = json::array();
    for (const auto& e : s.entries) {
      json item = {{"name", e.name},
                   {"available", e.available},
                   {"device", e.device.empty() ? json(nullptr) : json(e.device)},
                   {"note", e.note.empty() ? json(nullptr) : json(e.note)}};
      item.update(e.details);
      entries.push_back(std::move(item));
    }
    j[s.id] = {{"title", s.title},
               {"option", s.option},
               {"auto", s.auto_choice},
               {"auto_reason", s.auto_reason},
               {"backends", entries}};
  }
  return j;
}

}  // namespace pvt
