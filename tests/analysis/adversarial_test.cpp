// Hostile input for the engine (issue 11): no recursion the input decides (run under the
// sanitizer build in CI, where a deep stack overflows), one buffer budget for all connections,
// bounded segment lists, pairing that stops rather than lies, a full table that evicts.
// Time is not asserted here (bench/memory_bench.sh measures it); the structures are.
#include "labtool/analysis/engine.hpp"
#include "packet_builder.hpp"

#include <gtest/gtest.h>

namespace labtool::analysis {
namespace {

namespace f = tcp_flag;
using test::TcpSpec;

std::vector<std::uint8_t> packet(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
                                 std::uint8_t flags, const std::string& payload = {}, std::uint8_t src_last = 1) {
    TcpSpec s;
    s.sport = sport;
    s.dport = dport;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.payload = payload;
    s.src_last = src_last;
    return test::with_link(LinkType::ethernet, test::ip_packet(s), false);
}

struct Replay {
    Engine engine;
    std::vector<Event> events;
    std::uint32_t n = 0;
    explicit Replay(EngineOptions o = {}) : engine(o) {}
    void feed(const std::vector<std::uint8_t>& bytes) {
        ++n;
        const Frame fr{LinkType::ethernet, {1000 + n / 1000000, (n % 1000000) * 1000}, static_cast<std::uint32_t>(bytes.size()),
                       bytes};
        engine.process(fr, [&](const Event& e) { events.push_back(e); });
    }
    void finish() {
        engine.finish([&](const Event& e) { events.push_back(e); });
    }
    template <typename T>
    std::vector<T> all() const {
        std::vector<T> out;
        for (const auto& e : events)
            if (const T* p = std::get_if<T>(&e)) out.push_back(*p);
        return out;
    }
};

void handshake(Replay& r, std::uint16_t cport, std::uint32_t cisn, std::uint32_t sisn, std::uint8_t src_last = 1) {
    r.feed(packet(cport, 3000, cisn, 0, f::syn, {}, src_last));
    r.feed(packet(3000, cport, sisn, cisn + 1, f::syn | f::ack));
    r.feed(packet(cport, 3000, cisn + 1, sisn + 1, f::ack, {}, src_last));
}

TEST(Adversarial, ManyOutOfOrderSegmentsBehindOneHoleNeedNoDeepStack) {
    // 200 000 one-byte segments, each behind its own hole, flushed at the end: a recursive
    // flush would need a stack frame per hole. (Budgets raised so that all of them are held.)
    EngineOptions o;
    o.reassembly_cap_bytes = std::size_t{1} << 30;
    o.max_buffered_bytes = std::size_t{1} << 30;
    Replay r(o);
    handshake(r, 40000, 1000, 5000);
    for (std::uint32_t i = 0; i < 200000; ++i) r.feed(packet(40000, 3000, 1001 + 2 + 2 * (200000 - i), 5001, f::ack, "x"));
    r.finish();
    const auto gaps = r.all<StreamGap>();
    EXPECT_EQ(gaps.size(), 200000u);   // one hole before each byte
    EXPECT_EQ(r.all<ConnectionEnd>().size(), 1u);
}

TEST(Adversarial, EachBufferedSegmentCostsItsBookkeeping) {
    // A million one-byte segments are not a megabyte: with the default budgets the holes are
    // given up long before 200 000 entries are held.
    Replay r;
    handshake(r, 40001, 1000, 5000);
    for (std::uint32_t i = 0; i < 200000; ++i) r.feed(packet(40001, 3000, 1001 + 2 + 2 * (200000 - i), 5001, f::ack, "x"));
    std::size_t given_up = 0;
    for (const auto& g : r.all<StreamGap>()) given_up += g.reason == GapReason::buffer_full ? 1 : 0;
    EXPECT_GT(given_up, 0u);
}

TEST(Adversarial, OneBufferBudgetForAllConnections) {
    // 64 connections, each with 1 MB of out-of-order data behind a one-byte hole, under a 4 MB
    // budget: the holes are given up (reported as such) instead of buffering 64 MB.
    EngineOptions o;
    o.max_buffered_bytes = 4u << 20;
    Replay r(o);
    const std::string chunk(16384, 'd');
    for (std::uint16_t c = 0; c < 64; ++c) {
        const std::uint16_t port = static_cast<std::uint16_t>(41000 + c);
        handshake(r, port, 100000u * c, 7000);
        for (std::uint32_t k = 0; k < 64; ++k)
            r.feed(packet(port, 3000, 100000u * c + 3 + k * 16384u, 7001, f::ack, chunk));
    }
    std::uint64_t given_up = 0;
    for (const auto& g : r.all<StreamGap>()) {
        if (g.reason == GapReason::buffer_full) ++given_up;
    }
    EXPECT_GT(given_up, 0u);
    // Without the budget (64 MB < 64 × 4 MB per-direction caps) nothing would be given up.
    EngineOptions big;
    big.max_buffered_bytes = std::size_t{1} << 30;
    Replay unbounded(big);
    for (std::uint16_t c = 0; c < 64; ++c) {
        const std::uint16_t port = static_cast<std::uint16_t>(41000 + c);
        handshake(unbounded, port, 100000u * c, 7000);
        for (std::uint32_t k = 0; k < 64; ++k)
            unbounded.feed(packet(port, 3000, 100000u * c + 3 + k * 16384u, 7001, f::ack, chunk));
    }
    EXPECT_TRUE(unbounded.all<StreamGap>().empty());
}

TEST(Adversarial, AResponseInThousandsOfSegmentsKeepsABoundedList) {
    Replay r;
    handshake(r, 42000, 1, 9000);
    const std::string get = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
    r.feed(packet(42000, 3000, 2, 9001, f::psh | f::ack, get));
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
    std::uint32_t seq = 9001;
    r.feed(packet(3000, 42000, seq, 2 + static_cast<std::uint32_t>(get.size()), f::ack, head));
    seq += static_cast<std::uint32_t>(head.size());
    for (int i = 0; i < 10000; ++i) {
        r.feed(packet(3000, 42000, seq, 2 + static_cast<std::uint32_t>(get.size()), f::ack, std::string(10, 'b')));
        seq += 10;
    }
    const auto resp = r.all<HttpResponse>();
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_TRUE(resp[0].complete);
    EXPECT_EQ(resp[0].segment_count, 10001u);
    EXPECT_EQ(resp[0].segments.size(), 64u);
    EXPECT_EQ(resp[0].segments.back().frame, resp[0].frame);
}

TEST(Adversarial, PipeliningPastTheLimitStopsPairingInsteadOfPairingWrongly) {
    // 300 pipelined requests, 256 answers, 10 more requests, the remaining answers: response
    // #256 answers /p256, never /late0 (what a queue that silently dropped requests would say).
    Replay r;
    handshake(r, 43000, 1, 9000);
    std::uint32_t cseq = 2;
    std::uint32_t sseq = 9001;
    auto request = [&](const std::string& uri) {
        const std::string req = "GET " + uri + " HTTP/1.1\r\nHost: x\r\n\r\n";
        r.feed(packet(43000, 3000, cseq, sseq, f::psh | f::ack, req));
        cseq += static_cast<std::uint32_t>(req.size());
    };
    auto respond = [&] {
        const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
        r.feed(packet(3000, 43000, sseq, cseq, f::psh | f::ack, resp));
        sseq += static_cast<std::uint32_t>(resp.size());
    };
    for (int i = 0; i < 300; ++i) request("/p" + std::to_string(i));
    for (int i = 0; i < 256; ++i) respond();
    for (int i = 0; i < 10; ++i) request("/late" + std::to_string(i));
    for (int i = 0; i < 54; ++i) respond();
    const auto requests = r.all<HttpRequest>();
    ASSERT_EQ(requests.size(), 310u);
    int stopped = 0;
    for (const auto& q : requests) stopped += q.pairing_stopped ? 1 : 0;
    EXPECT_EQ(stopped, 1);
    EXPECT_TRUE(requests[256].pairing_stopped);
    const auto responses = r.all<HttpResponse>();
    ASSERT_EQ(responses.size(), 310u);
    for (const auto& resp : responses) {
        const std::string want = resp.index < 300 ? "/p" + std::to_string(resp.index) : "/late" + std::to_string(resp.index - 300);
        if (resp.request_uri) {
            EXPECT_EQ(*resp.request_uri, want) << "response " << resp.index;
        }
    }
}

TEST(Adversarial, AFullTableEvictsTheLeastRecentlyActiveConnection) {
    EngineOptions o;
    o.max_connections = 100;
    Replay r(o);
    // 1000 half-open connections (a SYN flood): at most 100 tracked; each eviction ends the
    // least recently active one.
    for (std::uint32_t i = 0; i < 1000; ++i)
        r.feed(packet(static_cast<std::uint16_t>(20000 + i), 3000, i * 7919u, 0, f::syn, {}, static_cast<std::uint8_t>(2 + i % 200)));
    const auto ends = r.all<ConnectionEnd>();
    ASSERT_EQ(ends.size(), 900u);
    for (std::size_t i = 0; i < ends.size(); ++i) EXPECT_EQ(ends[i].stream, i);   // oldest first
    r.finish();
    EXPECT_EQ(r.all<ConnectionEnd>().size(), 1000u);
    EXPECT_EQ(r.engine.stats().connections, 1000u);
}

}  // namespace
}  // namespace labtool::analysis
