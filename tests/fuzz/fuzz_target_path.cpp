// libFuzzer target for request-target decoding and normalisation (normalize_target) and for the
// Range parser: no crash, no undefined behaviour, and the invariants the file server relies on.
#include "http_util.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace labtool::server::detail;

void check(bool ok) {
    if (!ok) std::abort();
}

void check_target(std::string_view input) {
    const NormalizedTarget t = normalize_target(input);
    if (t.error != TargetError::none) {
        check(t.segments.empty() || t.error != TargetError::above_root);
        return;
    }
    for (const auto& s : t.segments) {
        // Nothing that could name a parent, the same folder, another root or a device.
        check(!s.empty() && s != "." && s != "..");
        check(s.find('/') == std::string::npos && s.find('\\') == std::string::npos);
        for (char c : s) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
        check(is_valid_utf8(s));
    }
    const std::string path = t.path();
    check(path.front() == '/' && path.find("//") == std::string::npos);
    // Normalising is idempotent: the re-encoded path decodes to the same segments.
    const NormalizedTarget again = normalize_target(percent_encode_path(path));
    check(again.error == TargetError::none && again.segments == t.segments);
    // The root always counts as ending in '/', so it is never redirected; a redirect Location
    // built like the server's (path + "/") never becomes protocol-relative.
    if (t.segments.empty()) check(t.trailing_slash);
    if (!t.trailing_slash) {
        const std::string location = percent_encode_path(path + "/");
        check(location.substr(0, 2) != "//" && location.find('\\') == std::string::npos);
    }
}

void check_range(std::string_view input, std::uint64_t size) {
    const ParsedRange r = parse_range(input, size);
    if (r.result == RangeResult::satisfiable) {
        check(size > 0 && r.range.first <= r.range.last && r.range.last < size);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_target(input);
    std::uint64_t file_size = 0;
    for (std::size_t i = 0; i < size && i < 8; ++i) file_size = (file_size << 8) | data[i];
    check_range(input, file_size % 4 == 0 ? file_size : file_size % 100000);
    (void)parse_http_date(input);
    (void)etag_list_matches_weak(input, "\"1-2\"");
    (void)etag_list_matches_strong(input, "\"1-2\"");
    return 0;
}
