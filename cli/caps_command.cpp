// `pvt caps [--json]`: what pvt found on this machine for each run-time choice, and why not where not.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "caps_report.hpp"
#include "commands.hpp"

namespace pvt::cli {

namespace {

void print_text(const CapsReport& report) {
  for (const auto& s : report.sections) {
    std::printf("%s (%s auto picks %s: %s)\n", s.title.c_str(), s.option.c_str(), s.auto_choice.c_str(),
                s.auto_reason.c_str());
    int width = 8;  // names line up within a section ("nvenc/hevc" is longer than "vulkan")
    for (const auto& e : s.entries) width = std::max(width, static_cast<int>(e.name.size()));
    for (const auto& e : s.entries) {
      std::string what = e.device;
      if (!e.note.empty() && !what.empty()) what += "; ";
      what += e.note;
      std::printf("  %-*s %-13s %s\n", width, e.name.c_str(), e.available ? "available" : "not available",
                  what.c_str());
      // Sections may attach a finding of their own (NVDEC for CUDA): one indented line each.
      for (const auto& [key, value] : e.details.items()) {
        if (!value.is_object() || !value.contains("usable")) continue;
        std::string line = value.at("usable").get<bool>() ? "usable" : "not usable";
        if (value.contains("reason") && value.at("reason").is_string()) {
          // Appended piecewise: "(" + s + ")" trips a GCC 12 -Wrestrict false positive.
          line += " (";
          line += value.at("reason").get<std::string>();
          line += ")";
        }
        if (value.contains("codecs") && !value.at("codecs").empty()) {
          line += "; codecs:";
          for (const auto& c : value.at("codecs")) {
            line += ' ';
            line += c.get<std::string>();
          }
        }
        std::printf("  %-*s %s: %s\n", width, "", key.c_str(), line.c_str());
      }
    }
  }
}

}  // namespace

Runner add_caps_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("caps", "Show the backends this machine offers pvt, and why not where not");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print the report as JSON");
  return [json] {
    const CapsReport report = probe_caps();
    if (*json)
      std::printf("%s\n", caps_json(report).dump(2).c_str());
    else
      print_text(report);
    return 0;
  };
}

}  // namespace pvt::cli
