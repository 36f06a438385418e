// HTTP/1.x on a byte stream: byte-at-a-time feeding, chunked bodies, close-delimited bodies,
// non-HTTP bytes, and resuming after a gap.
#include "labtool/analysis/http_stream.hpp"

#include <gtest/gtest.h>

namespace labtool::analysis {
namespace {

struct Collector final : HttpListener {
    std::vector<HttpMessage> messages;
    std::vector<std::string> errors;
    bool head = false;
    void on_message(HttpMessage& m) override { messages.push_back(m); }
    bool next_response_has_no_body() override { return head; }
    void on_parse_error(const std::string& reason, std::uint64_t) override { errors.push_back(reason); }
};

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(HttpStream, ByteAtATimeRequest) {
    const std::string req = "GET /logo.jpg HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nAccept: image/*\r\n\r\n";
    HttpStream stream(true, 65536, 64);
    Collector c;
    for (std::size_t i = 0; i < req.size(); ++i)
        stream.feed(i, bytes(req).subspan(i, 1), SegmentOrigin{i + 1, static_cast<std::uint32_t>(i + 1), 1}, c);
    ASSERT_EQ(c.messages.size(), 1u);
    EXPECT_EQ(c.messages[0].uri, "/logo.jpg");
    EXPECT_EQ(c.messages[0].header_bytes, req.size());
    // Every segment is counted; the list keeps the first 32 and the last 32 (bounded memory).
    EXPECT_EQ(c.messages[0].segment_count, req.size());
    const auto& list = c.messages[0].segments;
    ASSERT_EQ(list.size(), std::min<std::size_t>(req.size(), segments_head_kept + segments_tail_kept));
    EXPECT_EQ(list.front().frame, 1u);
    EXPECT_EQ(list[segments_head_kept - 1].frame, segments_head_kept);
    EXPECT_EQ(list[segments_head_kept].frame, req.size() - segments_tail_kept + 1);
    EXPECT_EQ(list.back().frame, req.size());
    EXPECT_EQ(c.messages[0].frame, req.size());
    ASSERT_EQ(c.messages[0].headers.size(), 2u);
    EXPECT_EQ(c.messages[0].headers[1].value, "image/*");
}

TEST(HttpStream, CloseDelimitedBodyEndsAtEof) {
    const std::string resp = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello";
    HttpStream stream(false, 65536, 64);
    Collector c;
    stream.feed(0, bytes(resp), SegmentOrigin{5, 1, static_cast<std::uint32_t>(resp.size())}, c);
    EXPECT_TRUE(c.messages.empty());
    stream.eof(6, c);
    ASSERT_EQ(c.messages.size(), 1u);
    EXPECT_TRUE(c.messages[0].complete);
    EXPECT_EQ(c.messages[0].body_bytes, 5u);
    stream.eof(7, c);  // idempotent
    EXPECT_EQ(c.messages.size(), 1u);
}

TEST(HttpStream, ShortContentLengthBodyIsIncompleteAtEof) {
    const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc";
    HttpStream stream(false, 65536, 64);
    Collector c;
    stream.feed(0, bytes(resp), SegmentOrigin{5, 1, static_cast<std::uint32_t>(resp.size())}, c);
    stream.eof(6, c);
    ASSERT_EQ(c.messages.size(), 1u);
    EXPECT_FALSE(c.messages[0].complete);
    EXPECT_EQ(c.messages[0].body_bytes, 3u);
}

TEST(HttpStream, NotHttpIsReportedOnce) {
    HttpStream stream(true, 65536, 64);
    Collector c;
    const std::string junk = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n";
    stream.feed(0, bytes(junk), SegmentOrigin{1, 1, static_cast<std::uint32_t>(junk.size())}, c);
    stream.feed(junk.size(), bytes(junk), SegmentOrigin{2, 1, static_cast<std::uint32_t>(junk.size())}, c);
    EXPECT_EQ(c.errors.size(), 1u);
    EXPECT_TRUE(stream.abandoned());
    EXPECT_TRUE(c.messages.empty());
}

TEST(HttpStream, ResumesAtTheNextMessageAfterAGap) {
    HttpStream stream(false, 65536, 64);
    Collector c;
    const std::string first = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    stream.feed(0, bytes(first), SegmentOrigin{1, 1, static_cast<std::uint32_t>(first.size())}, c);
    stream.gap(7, 2, c);
    const std::string middle = "garbage that is not a start line";
    stream.feed(100, bytes(middle), SegmentOrigin{3, 101, static_cast<std::uint32_t>(middle.size())}, c);
    const std::string second = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    stream.feed(200, bytes(second), SegmentOrigin{4, 201, static_cast<std::uint32_t>(second.size())}, c);
    ASSERT_EQ(c.messages.size(), 2u);
    EXPECT_FALSE(c.messages[0].complete);
    EXPECT_EQ(c.messages[1].status, 404);
    EXPECT_TRUE(c.errors.empty());
}

TEST(HttpStream, HugeHeaderIsAnErrorNotUnboundedMemory) {
    HttpStream stream(true, 1024, 64);
    Collector c;
    std::string req = "GET / HTTP/1.1\r\nX: ";
    req += std::string(5000, 'a');
    for (std::size_t off = 0; off < req.size(); off += 100)
        stream.feed(off, bytes(req).subspan(off, std::min<std::size_t>(100, req.size() - off)), SegmentOrigin{1, 1, 100}, c);
    EXPECT_EQ(c.errors.size(), 1u);
    EXPECT_TRUE(stream.abandoned());
}

}  // namespace
}  // namespace labtool::analysis
