// Small HTTP helpers for the file server: MIME types, HTTP-dates, percent-decoding, Range parsing.
// Pure functions (no I/O), private to labtool_server.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace labtool::server::detail {

/// Content-Type for a file extension (with or without the dot, any case); text types carry
/// "; charset=utf-8". Unknown extensions give "application/octet-stream".
std::string mime_type(std::string_view extension);

/// IMF-fixdate (RFC 9110 section 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::chrono::system_clock::time_point t);

/// Parses an IMF-fixdate; nullopt if it is not one (obsolete formats are not accepted).
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

/// Percent-decodes once (RFC 3986 section 2.1). nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view text);

/// One byte range resolved against a representation of `size` bytes: [first, last], inclusive.
struct ByteRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
};

enum class RangeResult {
    none,           // no usable Range header: ignore it and send 200 (also malformed / multiple)
    satisfiable,    // send 206 with the range
    unsatisfiable,  // send 416 with Content-Range: bytes */size
};

struct ParsedRange {
    RangeResult result = RangeResult::none;
    ByteRange range;
};

/// Parses a Range header value for a representation of `size` bytes (RFC 9110 section 14.1.2).
/// Only one range is served; several ranges or bad syntax yield RangeResult::none.
ParsedRange parse_range(std::string_view value, std::uint64_t size);

}  // namespace labtool::server::detail
