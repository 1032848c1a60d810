// The MCP framing and JSON-RPC layer alone (mcp/json_rpc.*), fast: arbitrary bytes are split into lines
// by the transport's LineSplitter (fed in chunks, as reads deliver them), every line is classified by
// parse_line, and every error reply is written by the LineWriter the server uses. Checked:
//  - the splitter reports one line per newline (plus an unterminated last line), never holding a
//    newline, each equal to the input's bytes (one trailing CR dropped) unless reported too long;
//  - parse_line yields a message, an error reply, or nothing — never both — and what it yields is
//    well formed: requests carry a string or integer id and a method, params are an object, error
//    replies carry a JSON-RPC code and an id that is null, a string or an integer;
//  - a written reply is exactly one line that parses back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "json_rpc.hpp"

namespace rpc = pvt::mcp::rpc;
using nlohmann::json;

namespace {

bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer();
}

void check_error_reply(const json& e) {
  PVT_FUZZ_CHECK(e.is_object() && e.value("jsonrpc", "") == "2.0", "error reply without jsonrpc 2.0");
  PVT_FUZZ_CHECK(e.contains("id") && (e["id"].is_null() || valid_id(e["id"])), "error reply with a bad id");
  PVT_FUZZ_CHECK(
      !e.contains("result") && e["error"]["code"].is_number_integer() && e["error"]["message"].is_string(),
      "error reply without code and message");
  const int code = e["error"]["code"].get<int>();
  PVT_FUZZ_CHECK(code == rpc::kParseError || code == rpc::kInvalidRequest || code == rpc::kInvalidParams,
                 "parse_line answered with an unexpected error code");
}

void check_message(const rpc::Message& m) {
  using Kind = rpc::Message::Kind;
  switch (m.kind) {
    case Kind::kRequest:
      PVT_FUZZ_CHECK(valid_id(m.id), "request without a usable id");
      PVT_FUZZ_CHECK(m.params.is_object(), "request params not an object");
      break;
    case Kind::kNotification:
      PVT_FUZZ_CHECK(m.id.is_null(), "notification with an id");
      PVT_FUZZ_CHECK(m.params.is_object(), "notification params not an object");
      break;
    case Kind::kResponse:
      PVT_FUZZ_CHECK(valid_id(m.id), "response without a usable id");
      break;
  }
}

void check_written(const json& message) {
  std::vector<std::string> out;
  rpc::LineWriter writer([&](std::string_view line) { out.emplace_back(line); });
  writer.write(message);
  PVT_FUZZ_CHECK(out.size() == 1 && !out[0].empty() && out[0].back() == '\n',
                 "written reply is not one line");
  PVT_FUZZ_CHECK(out[0].find('\n') == out[0].size() - 1, "written reply spans lines");
  PVT_FUZZ_CHECK(!json::parse(out[0], nullptr, false).is_discarded(), "written reply does not parse");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // First byte: the read size the transport sees and a small line limit, so partial reads and the
  // too-long path are both exercised; the rest is the byte stream.
  const std::size_t chunk = 1 + data[0] % 16;
  const std::size_t max_line = data[0] & 0x80 ? 64 + data[0] % 64 : 64u << 20;
  const std::string_view bytes = pvt::fuzz::as_text(data + 1, size - 1);

  // The reference split: pieces between newlines, the last one only when not empty.
  std::vector<std::string_view> pieces;
  for (std::size_t at = 0; at <= bytes.size();) {
    const std::size_t nl = bytes.find('\n', at);
    if (nl == std::string_view::npos) {
      if (at < bytes.size()) pieces.push_back(bytes.substr(at));
      break;
    }
    pieces.push_back(bytes.substr(at, nl - at));
    at = nl + 1;
  }

  rpc::LineSplitter splitter(max_line);
  std::size_t n = 0;
  auto on_line = [&](std::string_view line, bool too_long) {
    PVT_FUZZ_CHECK(n < pieces.size(), "the splitter reported more lines than the input has");
    std::string_view expected = pieces[n++];
    PVT_FUZZ_CHECK(line.find('\n') == std::string_view::npos, "a line holds a newline");
    if (too_long) {
      PVT_FUZZ_CHECK(expected.size() >= max_line, "a line within the limit was reported too long");
      PVT_FUZZ_CHECK(line.empty(), "a too-long line kept its bytes");
      return;
    }
    if (!expected.empty() && expected.back() == '\r') expected.remove_suffix(1);
    PVT_FUZZ_CHECK(line == expected, "a line differs from the input's bytes");

    const rpc::Parsed parsed = rpc::parse_line(line);
    PVT_FUZZ_CHECK(!(parsed.message && parsed.error_reply), "parse_line gave a message and an error");
    if (parsed.error_reply) {
      check_error_reply(*parsed.error_reply);
      check_written(*parsed.error_reply);
    }
    if (parsed.message) {
      check_message(*parsed.message);
      if (parsed.message->kind == rpc::Message::Kind::kRequest) {
        check_written(rpc::make_result(parsed.message->id, parsed.message->params));
        check_written(rpc::make_error(parsed.message->id, rpc::kMethodNotFound, parsed.message->method));
        (void)rpc::id_key(parsed.message->id);
      }
    }
  };
  for (std::size_t at = 0; at < bytes.size(); at += chunk) splitter.feed(bytes.substr(at, chunk), on_line);
  splitter.finish(on_line);
  PVT_FUZZ_CHECK(n == pieces.size(), "the splitter lost lines");
  return 0;
}
