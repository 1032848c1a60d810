// The output sandbox (mcp/output_sandbox.*) and input resolution (mcp/media_input.*) with arbitrary
// path text, in the fixture's tree of real files, folders and symlinks (mcp_fixture.hpp): out-link
// leads outside, in-link stays inside, dangling and loop cannot be judged.
//
// Invariant: a path resolve_output accepts is absolute, normal (no "." or ".." left), strictly inside
// the root, and physically inside it too — the kernel, following every symlink on the way, lands in
// the sandbox. Anything it refuses is a ToolError. resolve_input returns or throws ToolError.
#include <cstddef>
#include <cstdint>
#include <exception>

#include "mcp_fixture.hpp"
#include "media_input.hpp"
#include "tool.hpp"

namespace mcp = pvt::mcp;
namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pvt::fuzz::McpFixture fixture;
  const std::string requested(pvt::fuzz::as_text(data, size));

  try {
    const fs::path p = fixture.sandbox().resolve_output(requested);
    PVT_FUZZ_CHECK(p.is_absolute(), "resolve_output gave a relative path");
    for (const auto& part : p)
      PVT_FUZZ_CHECK(part != "." && part != "..", "resolve_output left . or .. in the path");
    PVT_FUZZ_CHECK(fixture.sandbox().contains(p), "resolve_output accepted a path outside the root");
    PVT_FUZZ_CHECK(p != fixture.root(), "resolve_output accepted the root itself");
    if (!fixture.physically_inside(p)) {
      std::fprintf(stderr, "'%s' -> '%s' leaves the sandbox\n", requested.c_str(), p.c_str());
      PVT_FUZZ_CHECK(false, "resolve_output accepted a path that physically leaves the sandbox");
    }
  } catch (const mcp::ToolError&) {
  }

  try {
    const fs::path p = mcp::resolve_input(requested, fixture.root());
    PVT_FUZZ_CHECK(p.is_absolute(), "resolve_input gave a relative path");
  } catch (const mcp::ToolError&) {
  }

  // The resolver alone, from the root and from "/": never throws, never leaves . or .. behind.
  for (const fs::path& base : {fixture.root(), fs::path("/")}) {
    const fs::path p = mcp::resolve_physically(base / requested);
    for (const auto& part : p) PVT_FUZZ_CHECK(part != "." && part != "..", "resolve_physically left . or ..");
  }
  return 0;
}
