// HTTP/1.x on a reassembled byte stream, using Beast's basic_parser (no I/O, explicit limits).
// Header bytes are buffered until the header is complete (Beast needs it contiguous); body bytes
// are only counted, never stored.
#include "labtool/analysis/http_stream.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

namespace labtool::analysis {
namespace {

namespace http = boost::beast::http;
using boost::beast::error_code;

constexpr std::size_t max_chunk_sizes_kept = 256;

std::string version_string(int version) {
    return "HTTP/" + std::to_string(version / 10) + "." + std::to_string(version % 10);
}

/// Receives Beast's callbacks and fills an HttpMessage.
class ParserBase {
public:
    virtual ~ParserBase() = default;
    virtual std::size_t put(std::span<const std::uint8_t> bytes, error_code& ec) = 0;
    virtual void put_eof(error_code& ec) = 0;
    [[nodiscard]] virtual bool is_done() const = 0;
    [[nodiscard]] virtual bool got_header() const = 0;
    HttpMessage message;
};

template <bool IsRequest>
class Parser final : public ParserBase, public http::basic_parser<IsRequest> {
public:
    Parser(std::size_t max_header_bytes, std::size_t max_headers_kept, bool skip_body)
        : max_headers_kept_(max_headers_kept) {
        this->header_limit(static_cast<std::uint32_t>(max_header_bytes));
        // We count the body, never store it, so there is no limit. Not boost::none: Beast 1.74
        // compares `len_ > body_limit_` and an empty optional then rejects any Content-Length.
        this->body_limit(std::numeric_limits<std::uint64_t>::max());
        // Not eager: put() returns right after the header, so the header's size is exact.
        this->eager(false);
        if (skip_body) this->skip(true);
        message.is_request = IsRequest;
    }

    std::size_t put(std::span<const std::uint8_t> bytes, error_code& ec) override {
        return http::basic_parser<IsRequest>::put(
            boost::asio::const_buffer(bytes.data(), bytes.size()), ec);
    }
    void put_eof(error_code& ec) override { http::basic_parser<IsRequest>::put_eof(ec); }
    [[nodiscard]] bool is_done() const override { return http::basic_parser<IsRequest>::is_done(); }
    [[nodiscard]] bool got_header() const override {
        return http::basic_parser<IsRequest>::got_some() && http::basic_parser<IsRequest>::is_header_done();
    }

private:
    void on_request_impl(http::verb, std::string_view method, std::string_view target, int version,
                         error_code&) override {
        message.method.assign(method);
        message.uri.assign(target);
        message.version = version_string(version);
    }
    void on_response_impl(int code, std::string_view reason, int version, error_code&) override {
        message.status = code;
        message.reason.assign(reason);
        message.version = version_string(version);
    }
    void on_field_impl(http::field name, std::string_view name_string, std::string_view value,
                       error_code&) override {
        if (message.headers.size() < max_headers_kept_)
            message.headers.push_back({std::string(name_string), std::string(value)});
        if (name == http::field::content_length) {
            std::uint64_t v = 0;
            bool ok = !value.empty();
            for (char c : value) {
                if (c < '0' || c > '9') { ok = false; break; }
                v = v * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (ok) message.content_length = v;
        }
    }
    void on_header_impl(error_code&) override {
        message.chunked = http::basic_parser<IsRequest>::chunked();
    }
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(std::string_view body, error_code&) override {
        message.body_bytes += body.size();
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t size, std::string_view, error_code&) override {
        if (message.chunk_sizes.size() < max_chunk_sizes_kept) message.chunk_sizes.push_back(size);
    }
    std::size_t on_chunk_body_impl(std::uint64_t, std::string_view body, error_code&) override {
        message.body_bytes += body.size();
        return body.size();
    }
    void on_finish_impl(error_code&) override {}

    std::size_t max_headers_kept_;
};

// Does this segment plausibly start a message? Used to resume after a gap.
bool starts_message(bool requests, std::span<const std::uint8_t> bytes) {
    auto starts_with = [&](std::string_view p) {
        return bytes.size() >= p.size() && std::memcmp(bytes.data(), p.data(), p.size()) == 0;
    };
    if (!requests) return starts_with("HTTP/1.");
    static constexpr std::string_view methods[] = {"GET ", "HEAD ", "POST ", "PUT ", "DELETE ",
                                                   "OPTIONS ", "TRACE ", "PATCH ", "CONNECT "};
    return std::any_of(std::begin(methods), std::end(methods), starts_with);
}

/// Parses "METHOD SP target SP HTTP/x.y CRLF" or "HTTP/x.y SP code SP reason CRLF" at the start of
/// `bytes` into `m`; false unless the whole line is there and well formed.
bool parse_start_line(bool request, const std::vector<std::uint8_t>& bytes, HttpMessage& m) {
    const std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const std::size_t eol = all.find("\r\n");
    if (eol == std::string_view::npos) return false;
    const std::string_view line = all.substr(0, eol);
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return false;
    if (request) {
        const std::size_t sp2 = line.rfind(' ');
        if (sp2 == sp1) return false;
        const std::string_view version = line.substr(sp2 + 1);
        if (version.size() != 8 || version.substr(0, 5) != "HTTP/") return false;
        m.method.assign(line.substr(0, sp1));
        m.uri.assign(line.substr(sp1 + 1, sp2 - sp1 - 1));
        m.version.assign(version);
        return !m.method.empty() && !m.uri.empty();
    }
    const std::string_view version = line.substr(0, sp1);
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/") return false;
    const std::string_view rest = line.substr(sp1 + 1);
    if (rest.size() < 3) return false;
    int code = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        if (rest[i] < '0' || rest[i] > '9') return false;
        code = code * 10 + (rest[i] - '0');
    }
    m.version.assign(version);
    m.status = code;
    m.reason.assign(rest.size() > 4 ? rest.substr(4) : std::string_view());
    return true;
}

}  // namespace

struct HttpStream::Impl {
    bool requests;
    std::size_t max_header_bytes;
    std::size_t max_headers_kept;
    std::unique_ptr<ParserBase> parser;
    std::vector<std::uint8_t> pending;      // header bytes not yet consumed by the parser
    std::uint64_t pending_offset = 0;       // stream offset of pending[0]
    std::uint64_t consumed_offset = 0;      // stream offset just past the last consumed byte
    bool resync = false;                    // after a gap: wait for a segment starting a message
    bool abandoned = false;
    bool ended = false;

    void start(HttpListener& listener, std::uint64_t offset) {
        const bool skip = !requests && listener.next_response_has_no_body();
        if (requests)
            parser = std::make_unique<Parser<true>>(max_header_bytes, max_headers_kept, false);
        else
            parser = std::make_unique<Parser<false>>(max_header_bytes, max_headers_kept, skip);
        parser->message.start_offset = offset;
    }

    void add_origin(const SegmentOrigin& origin) {
        HttpMessage& m = parser->message;
        auto& segs = m.segments;
        if (!segs.empty() && segs.back().frame == origin.frame) return;
        ++m.segment_count;
        if (origin.flags & tcp_flag::psh) ++m.psh_segments;
        switch (origin.limit) {
            case SegmentLimit::mss: ++m.ended_by_mss; break;
            case SegmentLimit::window: ++m.ended_by_window; break;
            case SegmentLimit::write_end: ++m.ended_by_write; break;
            case SegmentLimit::unknown: break;
        }
        if (origin.len > m.largest) {
            m.largest = origin.len;
            m.largest_frame = origin.frame;
        }
        // Keep the head and a sliding tail: the list never grows past their sum.
        if (segs.size() == segments_head_kept + segments_tail_kept)
            segs.erase(segs.begin() + static_cast<std::ptrdiff_t>(segments_head_kept));
        segs.push_back(SegmentRef{origin.frame, origin.seq_rel, origin.len, 0, origin.flags, origin.time, origin.limit});
    }

    void finish(HttpListener& listener, std::uint64_t frame, bool complete) {
        HttpMessage& m = parser->message;
        m.complete = complete;
        m.frame = frame;
        m.end_offset = consumed_offset;
        listener.on_message(m);
        parser.reset();
    }

    // Runs the parser over `data` (which starts at stream offset `offset`); returns bytes used.
    std::size_t run(std::span<const std::uint8_t> data, std::uint64_t offset, const SegmentOrigin& origin,
                    HttpListener& listener, bool& need_more) {
        std::size_t used = 0;
        need_more = false;
        while (used < data.size() && !abandoned) {
            if (!parser) {
                start(listener, offset + used);
                add_origin(origin);
            }
            const bool header_was_done = parser->got_header();
            error_code ec;
            const std::size_t n = parser->put(data.subspan(used), ec);
            if (!header_was_done && parser->got_header()) parser->message.header_bytes = n;
            used += n;
            consumed_offset = offset + used;
            if (ec == http::error::need_more) { need_more = true; break; }
            if (ec) {
                listener.on_parse_error(ec.message(), origin.frame);
                abandoned = true;
                parser.reset();
                break;
            }
            if (parser->is_done()) {
                finish(listener, origin.frame, true);
                continue;
            }
            if (n == 0) { need_more = true; break; }
        }
        return used;
    }
};

HttpStream::HttpStream(bool requests, std::size_t max_header_bytes, std::size_t max_headers_kept)
    : impl_(std::make_unique<Impl>()) {
    impl_->requests = requests;
    impl_->max_header_bytes = max_header_bytes;
    impl_->max_headers_kept = max_headers_kept;
}
HttpStream::~HttpStream() = default;
HttpStream::HttpStream(HttpStream&&) noexcept = default;
HttpStream& HttpStream::operator=(HttpStream&&) noexcept = default;

bool HttpStream::in_message() const noexcept { return impl_->parser != nullptr; }
bool HttpStream::abandoned() const noexcept { return impl_->abandoned; }

void HttpStream::feed(std::uint64_t offset, std::span<const std::uint8_t> bytes, const SegmentOrigin& origin,
                      HttpListener& listener) {
    Impl& s = *impl_;
    if (s.abandoned || s.ended || bytes.empty()) return;
    if (s.resync) {
        if (!starts_message(s.requests, bytes)) return;
        s.resync = false;
        s.pending.clear();
    }
    if (s.parser) s.add_origin(origin);
    if (s.pending.empty()) {
        bool need_more = false;
        const std::size_t used = s.run(bytes, offset, origin, listener, need_more);
        if (used < bytes.size() && need_more && !s.abandoned) {
            s.pending.assign(bytes.begin() + static_cast<std::ptrdiff_t>(used), bytes.end());
            s.pending_offset = offset + used;
        }
    } else {
        s.pending.insert(s.pending.end(), bytes.begin(), bytes.end());
        bool need_more = false;
        const std::size_t used = s.run(s.pending, s.pending_offset, origin, listener, need_more);
        s.pending.erase(s.pending.begin(), s.pending.begin() + static_cast<std::ptrdiff_t>(used));
        s.pending_offset += used;
    }
    if (!s.abandoned && s.pending.size() > s.max_header_bytes) {
        listener.on_parse_error("header larger than " + std::to_string(s.max_header_bytes) + " bytes",
                                origin.frame);
        s.abandoned = true;
        s.parser.reset();
        s.pending.clear();
    }
}

void HttpStream::gap(std::uint64_t bytes, std::uint64_t frame, HttpListener& listener) {
    Impl& s = *impl_;
    if (s.abandoned || s.ended) return;
    (void)bytes;
    if (s.parser && s.parser->got_header()) {
        s.finish(listener, frame, false);
    } else if (s.parser) {
        // The header was cut (a snaplen, or loss): report the start line if it arrived whole,
        // as tshark does, with nothing after it guessed. Beast may already have parsed it.
        HttpMessage& m = s.parser->message;
        bool have = s.requests ? !m.method.empty() : m.status != 0;
        if (!have && !s.pending.empty()) have = parse_start_line(s.requests, s.pending, m);
        if (have) {
            m.headers_truncated = true;
            if (!s.pending.empty()) s.consumed_offset = s.pending_offset + s.pending.size();
            m.header_bytes = s.consumed_offset - m.start_offset;
            s.finish(listener, frame, false);
        }
    }
    s.parser.reset();
    s.pending.clear();
    s.resync = true;
}

void HttpStream::eof(std::uint64_t frame, HttpListener& listener) {
    Impl& s = *impl_;
    if (s.ended) return;
    s.ended = true;
    if (s.abandoned || !s.parser) return;
    if (s.parser->got_header()) {
        error_code ec;
        s.parser->put_eof(ec);  // completes a close-delimited body (RFC 9112 §6.3 item 8)
        const bool complete = !ec && s.parser->is_done();
        s.finish(listener, frame, complete);
    } else {
        s.parser.reset();
    }
}

}  // namespace labtool::analysis
