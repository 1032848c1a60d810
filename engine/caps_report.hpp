// `pvt caps`: what this machine offers pvt, section by section, and why not where it does not.
//
// Each section is one choice pvt makes at run time (the analysis backend, the encoder), with
// what `auto` picks there and every candidate's finding. A new section is a new probe function added to
// probe_caps(); the JSON keeps one key per section, so readers of older keys are unaffected.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pvt {

inline constexpr int kCapsReportVersion = 1;

struct CapsEntry {
  std::string name;
  bool available = false;                             // usable when asked for by name
  std::string device;                                 // what was found
  std::string note;                                   // why not, or what to know about it
  nlohmann::json details = nlohmann::json::object();  // section-specific findings
};

struct CapsSection {
  std::string id;           // JSON key: "analysis"
  std::string title;        // "analysis backends"
  std::string option;       // the option that chooses among the entries: "--analysis-backend"
  std::string auto_choice;  // what `auto` picks on this machine
  std::string auto_reason;  // why
  std::vector<CapsEntry> entries;
};

struct CapsReport {
  std::vector<CapsSection> sections;
};

CapsSection analysis_caps();  // the analysis kernels (CPU, CUDA + NVDEC, Vulkan)
CapsSection encoders_caps();  // the encoders, probed by opening sessions (hwbackends/encoder_probe.hpp)
CapsReport probe_caps();      // every section

nlohmann::json caps_json(const CapsReport& report);

}  // namespace pvt
