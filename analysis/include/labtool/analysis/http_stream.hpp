// HTTP/1.x parsing of one direction's ordered byte stream (never packets), on Beast's push
// parser: several messages per connection, Content-Length, chunked and close-delimited bodies,
// and gaps after which parsing resumes at the next recognisable message.
#pragma once

#include "labtool/analysis/events.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace labtool::analysis {

/// A parsed HTTP/1.x message with the segments that carried it.
struct HttpMessage {
    bool is_request = true;
    std::string method;          // requests
    std::string uri;
    int status = 0;              // responses
    std::string reason;
    std::string version;         // "HTTP/1.1"
    std::vector<HttpHeader> headers;
    std::optional<std::uint64_t> content_length;
    bool chunked = false;
    std::vector<std::uint64_t> chunk_sizes;   // chunked bodies: each chunk's size (capped), 0 last
    std::uint64_t header_bytes = 0;
    std::uint64_t body_bytes = 0;
    bool complete = true;
    bool headers_truncated = false;  // only the start line was captured (snaplen or loss)
    /// The segments that carried it: the first `segments_head_kept` and the last
    /// `segments_tail_kept` (memory stays bounded for a message in 200 000 segments); the counts
    /// below cover every segment.
    std::vector<SegmentRef> segments;
    std::uint64_t segment_count = 0;
    std::uint32_t psh_segments = 0;
    std::uint32_t ended_by_mss = 0;
    std::uint32_t ended_by_window = 0;
    std::uint32_t ended_by_write = 0;
    std::uint32_t largest = 0;
    std::uint64_t largest_frame = 0;
    std::uint64_t start_offset = 0;  // stream offset of its first byte
    std::uint64_t end_offset = 0;    // stream offset just past its last byte
    std::uint64_t frame = 0;         // frame that completed it (or carried its last byte)
};

inline constexpr std::size_t segments_head_kept = 32;
inline constexpr std::size_t segments_tail_kept = 32;

/// Callbacks from an HttpStream to its owner.
class HttpListener {
public:
    virtual ~HttpListener() = default;
    /// A message ended (complete, or cut short by eof/gap: then `complete` is false).
    virtual void on_message(HttpMessage& message) = 0;
    /// Asked when a response begins: true when it answers HEAD (RFC 9112 §6.3: no body).
    virtual bool next_response_has_no_body() = 0;
    virtual void on_parse_error(const std::string& reason, std::uint64_t frame) = 0;
};

/// Where a segment's bytes came from, for SegmentRef lists.
struct SegmentOrigin {
    std::uint64_t frame = 0;
    std::uint32_t seq_rel = 0;
    std::uint32_t len = 0;
    std::uint8_t flags = 0;      // TCP flags of the segment (PSH matters to students)
    double time = 0.0;           // seconds since the first frame
    SegmentLimit limit = SegmentLimit::unknown;
};

class HttpStream {
public:
    HttpStream(bool requests, std::size_t max_header_bytes, std::size_t max_headers_kept);
    ~HttpStream();
    HttpStream(HttpStream&&) noexcept;
    HttpStream& operator=(HttpStream&&) noexcept;

    /// Feeds in-order bytes starting at stream `offset`, carried by `origin`.
    void feed(std::uint64_t offset, std::span<const std::uint8_t> bytes, const SegmentOrigin& origin,
              HttpListener& listener);
    /// `bytes` of the stream were never seen: the current message is ended incomplete and
    /// parsing resumes at the next segment that starts a message.
    void gap(std::uint64_t bytes, std::uint64_t frame, HttpListener& listener);
    /// The sender closed (FIN) or the capture ended: a close-delimited body ends here; any
    /// other unfinished message is reported incomplete. Idempotent.
    void eof(std::uint64_t frame, HttpListener& listener);

    /// True while a message has started but not ended.
    [[nodiscard]] bool in_message() const noexcept;
    /// The stream is not HTTP (parse error): further bytes are ignored.
    [[nodiscard]] bool abandoned() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace labtool::analysis
