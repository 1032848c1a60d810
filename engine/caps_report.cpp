#include "caps_report.hpp"

#include "analysis_backend.hpp"
#include "encoder_probe.hpp"

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

CapsSection encoders_caps() {
  const auto& probes = hw::probe_encoders();
  CapsSection s;
  s.id = "encoders";
  s.title = "encoders";
  s.option = "--encoder";
  std::string hw;
  for (const auto& p : probes)
    if (p.hardware && p.usable && p.codec == "h264")
      hw += " + " + p.backend + " (" + std::to_string(p.sessions) + " sessions)";
  s.auto_choice = "x264" + hw;
  s.auto_reason = hw.empty() ? "no hardware encoder opened a session; CPU workers only"
                             : "every hardware session found, plus CPU workers for the rest";
  for (const auto& p : probes) {
    CapsEntry e;
    e.name = p.backend + "/" + p.codec;
    e.available = p.usable;
    if (p.usable)
      e.device = p.hardware ? std::to_string(p.sessions) + " concurrent session(s) opened" : "CPU";
    e.note = p.reason;
    e.details = {{"backend", p.backend},
                 {"codec", p.codec},
                 {"ffmpeg_encoder", p.ffmpeg_encoder},
                 {"hardware", p.hardware},
                 {"sessions", p.hardware ? json(p.sessions) : json(nullptr)},
                 {"session_probe_cap", hw::kSessionProbeCap}};
    s.entries.push_back(std::move(e));
  }
  return s;
}

CapsReport probe_caps() {
  return {{analysis_caps(), encoders_caps()}};
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
