// Small HTTP helpers for the file server: MIME types, HTTP-dates, request-target normalisation,
// entity-tag lists and Range parsing. Pure functions (no I/O), private to labtool_server.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace labtool::server::detail {

/// Content-Type for a file extension (with or without the dot, any case); text types carry
/// "; charset=utf-8". Unknown extensions give "application/octet-stream".
std::string mime_type(std::string_view extension);

/// IMF-fixdate (RFC 9110 section 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::chrono::system_clock::time_point t);

/// Parses an HTTP-date in any of the three formats a recipient must accept (RFC 9110 section
/// 5.6.7: IMF-fixdate, obsolete RFC 850 and asctime); nullopt for anything else (also a year of
/// more than four digits, which none of the formats has). Whole seconds in 64 bits: every date
/// of years 0000-9999 is representable, unlike system_clock's nanoseconds (1677-2262), so
/// compare it with a file time in seconds too (std::chrono::floor<std::chrono::seconds>).
std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text);

/// Percent-decodes once (RFC 3986 section 2.1). nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view text);

/// True if `text` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view text);

/// Percent-encodes a decoded path for a Location header or a link: unreserved characters,
/// '/' and the sub-delimiters that are safe in a path stay, everything else (also non-ASCII
/// bytes, '%', '?', '#', '\\') becomes %XX.
std::string percent_encode_path(std::string_view path);

enum class TargetError {
    none,
    bad_form,        // not origin-form or absolute-form
    bad_escape,      // malformed %XX
    bad_byte,        // NUL or another control character, or '\\', after decoding
    bad_utf8,        // invalid UTF-8 after decoding (overlong dots and the like)
    above_root,      // ".." would leave the root
    reserved_name,   // a segment Windows would read differently from its bytes (see is_portable_name)
};

/// True if `name` (one decoded path segment) names the same file on every OS labtool serves
/// from: not empty, "." or "..", no control byte, '/', '\\', ':' (drive letters, NTFS streams)
/// or < > " | ? *, no trailing '.' or ' ' (Windows strips them, so "a.txt." would open
/// "a.txt"), and not a DOS device name (CON PRN AUX NUL COM1-9 LPT1-9, also with the
/// superscript digits ¹²³, CONIN$ CONOUT$; any case, with any extension, with spaces before the
/// extension). Names with "~1" are not refused here: an 8.3 alias can only be recognised by the
/// file system, so the Windows backend checks the final path of each opened handle.
bool is_portable_name(std::string_view name);

/// A request-target reduced to the path inside the served root.
struct NormalizedTarget {
    TargetError error = TargetError::none;
    std::vector<std::string> segments;  // decoded, no "", "." or ".." segment, no '/' inside
    bool trailing_slash = false;        // the decoded path ended in '/' (or was "/")
    std::string query;                  // "?..." exactly as sent (not decoded), or empty

    /// "/a/b" (or "/" for the root), decoded.
    [[nodiscard]] std::string path() const;
    /// True if some segment starts with '.' (a dotfile or a dot-directory).
    [[nodiscard]] bool has_dot_segment() const;
};

/// Normalises a request-target (RFC 9112 section 3.2): origin-form "/p?q" or absolute-form
/// "http://host/p?q"; percent-decodes the path exactly once, rejects malformed escapes, control
/// bytes, backslashes and invalid UTF-8, and removes dot-segments (RFC 3986 section 5.2.4) and
/// empty segments. A ".." above the root is an error, never clamped. Every other segment that
/// appears in the decoded path (also one a later ".." removes) must pass is_portable_name, or the
/// result is reserved_name, on every OS alike. Precedence: bad_form, bad_escape/bad_byte,
/// bad_utf8, then above_root or reserved_name for the first offending segment.
NormalizedTarget normalize_target(std::string_view target);

/// One byte range resolved against a representation of `size` bytes: [first, last], inclusive.
struct ByteRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
};

enum class RangeResult {
    none,           // no usable Range header: ignore it and send 200 (also malformed / too many)
    satisfiable,    // send 206 with `range`
    unsatisfiable,  // send 416 with Content-Range: bytes */size
    disjoint,       // several ranges that do not merge into one: send 200 with the whole file
};

struct ParsedRange {
    RangeResult result = RangeResult::none;
    ByteRange range;
};

/// Most ranges read from one Range header; more make the header ignored (RFC 9110 section 14.2
/// lets a server ignore a Range it finds abusive).
constexpr std::size_t max_ranges = 16;

/// Parses a Range header value for a representation of `size` bytes (RFC 9110 section 14.1.2).
/// Unsatisfiable members are dropped; overlapping or adjacent satisfiable ranges are merged; one
/// resulting range gives `satisfiable`, several give `disjoint`, none gives `unsatisfiable`.
/// Bad syntax, another unit or more than max_ranges members give `none`.
ParsedRange parse_range(std::string_view value, std::uint64_t size);

/// Weak comparison of an If-None-Match list against `etag` (RFC 9110 sections 8.8.3.2, 13.1.2):
/// true for "*" or any member equal to etag after dropping W/ prefixes. A malformed list is false.
bool etag_list_matches_weak(std::string_view header, std::string_view etag);

/// Strong comparison of an If-Match list against the strong `etag` (RFC 9110 section 13.1.1):
/// true for "*" or an identical strong member; weak members never match.
bool etag_list_matches_strong(std::string_view header, std::string_view etag);

}  // namespace labtool::server::detail
