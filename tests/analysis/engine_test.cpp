// The connection tracker on packets built in the test: handshake, data, 3- and 4-packet close,
// FIN on data, RST, port reuse, mid-stream pickup, sequence numbers wrapping past 2^32.
#include "labtool/analysis/engine.hpp"
#include "packet_builder.hpp"

#include <gtest/gtest.h>

#include <deque>

namespace labtool::analysis {
namespace {

using test::TcpSpec;
namespace f = tcp_flag;

/// A scripted conversation between a client and a server that keeps seq/ack itself.
class Conversation {
public:
    Conversation(std::uint32_t client_isn, std::uint32_t server_isn, std::uint16_t cport = 52126,
                 LinkType link = LinkType::ethernet, bool v6 = false)
        : cseq_(client_isn), sseq_(server_isn), cport_(cport), link_(link), v6_(v6) {}

    void client(std::uint8_t flags, const std::string& payload = {}) { send(true, flags, payload); }
    void server(std::uint8_t flags, const std::string& payload = {}) { send(false, flags, payload); }

    void handshake() {
        client(f::syn);
        server(f::syn | f::ack);
        client(f::ack);
    }

    std::vector<Event> run(EngineOptions o = {}) {
        Engine engine(o);
        std::vector<Event> events;
        auto sink = [&](const Event& e) { events.push_back(e); };
        for (std::size_t i = 0; i < frames_.size(); ++i) {
            Timestamp ts{1000, static_cast<std::uint32_t>(i * 1000)};
            if (i < seconds.size()) ts = {1000 + static_cast<std::int64_t>(seconds[i]), 0};
            Frame fr{link_, ts, static_cast<std::uint32_t>(frames_[i].size()), frames_[i]};
            engine.process(fr, sink);
        }
        engine.finish(sink);
        stats_ = engine.stats();
        return events;
    }

    std::deque<std::vector<std::uint8_t>>& frames() { return frames_; }
    std::vector<double> seconds;   // optional per-frame time (whole seconds after the first)
    [[nodiscard]] const EngineStats& stats() const { return stats_; }

private:
    void send(bool from_client, std::uint8_t flags, const std::string& payload) {
        TcpSpec s;
        s.v6 = v6_;
        s.sport = from_client ? cport_ : 3000;
        s.dport = from_client ? 3000 : cport_;
        s.seq = from_client ? cseq_ : sseq_;
        s.ack = (flags & f::ack) ? (from_client ? sseq_ : cseq_) : 0;
        s.flags = flags;
        s.payload = payload;
        if (flags & f::syn) s.options = test::syn_options(65495, 10);
        std::uint32_t& mine = from_client ? cseq_ : sseq_;
        mine += static_cast<std::uint32_t>(payload.size()) + ((flags & f::syn) ? 1 : 0) + ((flags & f::fin) ? 1 : 0);
        frames_.push_back(test::with_link(link_, test::ip_packet(s), v6_));
    }

    std::uint32_t cseq_;
    std::uint32_t sseq_;
    std::uint16_t cport_;
    LinkType link_;
    bool v6_;
    std::deque<std::vector<std::uint8_t>> frames_;
    EngineStats stats_;
};

template <typename T>
std::vector<T> all(const std::vector<Event>& events) {
    std::vector<T> out;
    for (const auto& e : events)
        if (const T* p = std::get_if<T>(&e)) out.push_back(*p);
    return out;
}

const std::string get_root = "GET / HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nConnection: keep-alive\r\n\r\n";
const std::string response_head =
    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 10\r\nConnection: keep-alive\r\n\r\n";

TEST(Engine, HandshakeNumbersAndStates) {
    Conversation c(1055145363, 3686796847u);
    c.handshake();
    const auto events = c.run();
    const auto hs = all<Handshake>(events);
    ASSERT_EQ(hs.size(), 3u);
    EXPECT_EQ(hs[0].step, 1);
    EXPECT_EQ(hs[0].frame, 1u);
    EXPECT_EQ(hs[0].seq_raw, 1055145363u);
    EXPECT_EQ(hs[0].seq_rel, 0u);
    EXPECT_EQ(hs[0].mss.value_or(0), 65495);
    EXPECT_EQ(hs[0].wscale.value_or(0), 10);
    EXPECT_TRUE(hs[0].sack_perm);
    EXPECT_EQ(hs[0].client_state, TcpState::syn_sent);
    EXPECT_EQ(hs[0].server_state, TcpState::listen);
    EXPECT_EQ(hs[1].step, 2);
    EXPECT_EQ(hs[1].from, Direction::server_to_client);
    EXPECT_EQ(hs[1].ack_raw, 1055145364u);
    EXPECT_EQ(hs[1].peer_isn, 1055145363u);
    EXPECT_TRUE(hs[1].ack_is_peer_isn_plus_1);
    EXPECT_EQ(hs[1].ack_rel, 1u);
    EXPECT_EQ(hs[1].client_state, TcpState::established);
    EXPECT_EQ(hs[1].server_state, TcpState::syn_received);
    EXPECT_EQ(hs[2].step, 3);
    EXPECT_EQ(hs[2].seq_rel, 1u);
    EXPECT_EQ(hs[2].ack_rel, 1u);
    EXPECT_EQ(hs[2].ack_raw, 3686796848u);
    EXPECT_EQ(hs[2].server_state, TcpState::established);
    const auto end = all<ConnectionEnd>(events);
    ASSERT_EQ(end.size(), 1u);
    EXPECT_EQ(end[0].close_kind, CloseKind::open);
}

TEST(Engine, RequestResponseAckAndThreePacketClose) {
    Conversation c(100, 0xFFFFFF00u);  // the server's numbers wrap past 2^32 during the response
    c.handshake();
    c.client(f::psh | f::ack, get_root);                  // 4
    c.server(f::ack);                                     // 5
    c.server(f::psh | f::ack, response_head);             // 6
    c.server(f::psh | f::ack, "0123456789");              // 7
    c.client(f::ack);                                     // 8
    c.client(f::fin | f::ack);                            // 9
    c.server(f::fin | f::ack);                            // 10: also acknowledges the client's FIN
    c.client(f::ack);                                     // 11
    const auto events = c.run();

    const auto req = all<HttpRequest>(events);
    ASSERT_EQ(req.size(), 1u);
    EXPECT_EQ(req[0].method, "GET");
    EXPECT_EQ(req[0].uri, "/");
    EXPECT_EQ(req[0].version, "HTTP/1.1");
    EXPECT_EQ(req[0].frame, 4u);
    ASSERT_EQ(req[0].segments.size(), 1u);
    EXPECT_EQ(req[0].segments[0].seq_rel, 1u);

    const auto resp = all<HttpResponse>(events);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_EQ(resp[0].status, 200);
    EXPECT_EQ(resp[0].reason, "OK");
    EXPECT_EQ(resp[0].content_length.value_or(0), 10u);
    EXPECT_EQ(resp[0].request_uri.value_or(""), "/");
    EXPECT_EQ(resp[0].request_frame, 4u);
    EXPECT_TRUE(resp[0].complete);
    EXPECT_EQ(resp[0].frame, 7u);
    ASSERT_EQ(resp[0].segments.size(), 2u);
    EXPECT_EQ(resp[0].segments[0].frame, 6u);
    EXPECT_EQ(resp[0].segments[0].seq_rel, 1u);
    EXPECT_EQ(resp[0].segments[1].seq_rel, 1u + response_head.size());
    EXPECT_EQ(resp[0].header_bytes, response_head.size());
    EXPECT_EQ(resp[0].body_bytes, 10u);

    const auto acked = all<ResponseAcked>(events);
    ASSERT_EQ(acked.size(), 1u);
    EXPECT_EQ(acked[0].frame, 8u);
    EXPECT_EQ(acked[0].ack_rel, 1u + response_head.size() + 10);
    ASSERT_EQ(acked[0].segments.size(), 2u);
    EXPECT_EQ(acked[0].segments[1].acked_by, 8u);

    const auto td = all<Teardown>(events);
    ASSERT_EQ(td.size(), 3u);
    EXPECT_EQ(td[0].frame, 9u);
    EXPECT_TRUE(td[0].fin);
    EXPECT_EQ(td[0].client_state, TcpState::fin_wait_1);
    EXPECT_EQ(td[0].server_state, TcpState::close_wait);
    EXPECT_EQ(td[1].frame, 10u);
    EXPECT_TRUE(td[1].fin);
    EXPECT_TRUE(td[1].acks_fin);
    EXPECT_EQ(td[1].client_state, TcpState::time_wait);
    EXPECT_EQ(td[1].server_state, TcpState::last_ack);
    EXPECT_EQ(td[2].frame, 11u);
    EXPECT_FALSE(td[2].fin);
    EXPECT_TRUE(td[2].acks_fin);
    EXPECT_EQ(td[2].client_state, TcpState::time_wait);
    EXPECT_EQ(td[2].server_state, TcpState::closed);

    const auto end = all<ConnectionEnd>(events);
    ASSERT_EQ(end.size(), 1u);
    EXPECT_EQ(end[0].frame, 11u);
    EXPECT_EQ(end[0].close_kind, CloseKind::fin);
    ASSERT_TRUE(end[0].closed_first.has_value());
    EXPECT_EQ(*end[0].closed_first, Direction::client_to_server);
    EXPECT_EQ(end[0].requests, 1u);
    EXPECT_EQ(end[0].responses, 1u);
    EXPECT_EQ(end[0].client_to_server.packets, 6u);
    EXPECT_EQ(end[0].server_to_client.packets, 5u);
}

TEST(Engine, FourPacketCloseByServerWithFinOnLastDataSegment) {
    Conversation c(5, 7);
    c.handshake();
    c.client(f::psh | f::ack, "GET /a HTTP/1.0\r\n\r\n");
    c.server(f::psh | f::ack, "HTTP/1.0 200 OK\r\n\r\nclose-delimited body");
    c.server(f::fin | f::psh | f::ack, "tail");           // 6: FIN on the last data segment
    c.client(f::ack);                                     // 7: ACK of the FIN only
    c.client(f::fin | f::ack);                            // 8
    c.server(f::ack);                                     // 9
    const auto events = c.run();
    const auto resp = all<HttpResponse>(events);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_TRUE(resp[0].complete);
    EXPECT_FALSE(resp[0].content_length.has_value());
    EXPECT_EQ(resp[0].body_bytes, std::string("close-delimited bodytail").size());
    EXPECT_EQ(resp[0].segments.size(), 2u);
    const auto td = all<Teardown>(events);
    ASSERT_EQ(td.size(), 4u);
    EXPECT_EQ(td[0].from, Direction::server_to_client);
    EXPECT_EQ(td[0].len, 4u);
    EXPECT_EQ(td[0].server_state, TcpState::fin_wait_1);
    EXPECT_EQ(td[0].client_state, TcpState::close_wait);
    EXPECT_EQ(td[1].server_state, TcpState::fin_wait_2);
    EXPECT_EQ(td[2].client_state, TcpState::last_ack);
    EXPECT_EQ(td[2].server_state, TcpState::time_wait);
    EXPECT_EQ(td[3].client_state, TcpState::closed);
    const auto end = all<ConnectionEnd>(events);
    ASSERT_EQ(end.size(), 1u);
    EXPECT_EQ(*end[0].closed_first, Direction::server_to_client);
}

TEST(Engine, ResetAbortsAndMarksResponseIncomplete) {
    Conversation c(1, 2);
    c.handshake();
    c.client(f::psh | f::ack, "GET /audio.mp3 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n\r\n");
    c.server(f::psh | f::ack,
             "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99999/100000\r\nContent-Length: 100000\r\n\r\n" +
                 std::string(1000, 'a'));
    c.client(f::rst | f::ack);
    const auto events = c.run();
    const auto rst = all<Reset>(events);
    ASSERT_EQ(rst.size(), 1u);
    EXPECT_EQ(rst[0].frame, 6u);
    EXPECT_EQ(rst[0].from, Direction::client_to_server);
    EXPECT_EQ(rst[0].client_state_before, TcpState::established);
    const auto resp = all<HttpResponse>(events);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_EQ(resp[0].status, 206);
    EXPECT_EQ(resp[0].content_range.value_or(""), "bytes 0-99999/100000");
    EXPECT_FALSE(resp[0].complete);
    const auto end = all<ConnectionEnd>(events);
    ASSERT_EQ(end.size(), 1u);
    EXPECT_EQ(end[0].close_kind, CloseKind::rst);
    EXPECT_EQ(end[0].client_state, TcpState::closed);
}

TEST(Engine, LateResetsAfterTheFirstAreStillReported) {
    Conversation c(1, 2);
    c.handshake();
    c.client(f::rst | f::ack);     // 4: the client aborts
    c.server(f::psh | f::ack, "late data");  // 5: still in flight
    c.client(f::rst);              // 6: the client's kernel answers it with another RST
    const auto events = c.run();
    const auto rst = all<Reset>(events);
    ASSERT_EQ(rst.size(), 2u);
    EXPECT_FALSE(rst[0].after_end);
    EXPECT_EQ(rst[1].frame, 6u);
    EXPECT_TRUE(rst[1].after_end);
    EXPECT_EQ(rst[1].stream, 0u);
    EXPECT_EQ(all<ConnectionEnd>(events).size(), 1u);
    EXPECT_EQ(all<ConnectionOpened>(events).size(), 1u);
}

TEST(Engine, FinSentAgainAfterTheEndIsExplainedAsTimeWaitAtWork) {
    Conversation c(1, 2);
    c.handshake();
    c.client(f::fin | f::ack);     // 4
    c.server(f::fin | f::ack);     // 5
    c.client(f::ack);              // 6: the last ACK; the connection ends here
    c.frames().push_back(c.frames()[4]);  // 7: the server's FIN again (it never got frame 6)
    c.frames().push_back(c.frames()[5]);  // 8: the client, in TIME-WAIT, acknowledges it again
    c.seconds = {0, 0, 0, 0, 0, 0, 1, 1};
    EngineOptions o;
    o.emit_packets = true;
    const auto events = c.run(o);
    const auto end = all<ConnectionEnd>(events);
    ASSERT_EQ(end.size(), 1u);
    EXPECT_EQ(end[0].frame, 6u);
    EXPECT_EQ(end[0].server_state, TcpState::closed);
    const auto td = all<Teardown>(events);
    ASSERT_EQ(td.size(), 5u);
    EXPECT_FALSE(td[2].after_end);
    EXPECT_EQ(td[3].frame, 7u);
    EXPECT_TRUE(td[3].after_end);
    EXPECT_TRUE(td[3].fin);
    EXPECT_FALSE(td[3].acks_fin);
    EXPECT_EQ(td[3].from, Direction::server_to_client);
    EXPECT_EQ(td[3].fin_frame, 5u);   // its first copy
    EXPECT_DOUBLE_EQ(td[3].since_first_fin, 1.0);
    EXPECT_EQ(td[3].server_state, TcpState::last_ack);
    EXPECT_EQ(td[3].client_state, TcpState::time_wait);
    EXPECT_EQ(td[4].frame, 8u);
    EXPECT_TRUE(td[4].after_end);
    EXPECT_TRUE(td[4].acks_fin);
    EXPECT_FALSE(td[4].fin);
    EXPECT_EQ(td[4].fin_frame, 7u);   // the resent copy it acknowledges
    EXPECT_EQ(td[4].server_state, TcpState::closed);
    EXPECT_EQ(td[4].client_state, TcpState::time_wait);
    // The late FIN is a retransmission and its ACK a duplicate, as tshark flags them.
    const auto pk = all<PacketInfo>(events);
    ASSERT_EQ(pk.size(), 8u);
    EXPECT_TRUE(pk[6].analysis.has(AnalysisFlag::retransmission));
    EXPECT_TRUE(pk[7].analysis.has(AnalysisFlag::duplicate_ack));
    EXPECT_FALSE(pk[7].analysis.has(AnalysisFlag::retransmission));
    // A late ACK alone (no FIN sent again) is not a teardown step.
    Conversation d(1, 2);
    d.handshake();
    d.client(f::fin | f::ack);
    d.server(f::fin | f::ack);
    d.client(f::ack);
    d.frames().push_back(d.frames()[5]);
    EXPECT_EQ(all<Teardown>(d.run()).size(), 3u);
    // After a RST the client's FIN again is no TIME-WAIT story: no teardown step, states stay.
    Conversation r(1, 2);
    r.handshake();
    r.client(f::fin | f::ack);     // 4
    r.server(f::rst | f::ack);     // 5: the connection is aborted
    r.frames().push_back(r.frames()[3]);  // 6: the client's FIN again
    const auto after_rst = r.run();
    const auto rtd = all<Teardown>(after_rst);
    ASSERT_EQ(rtd.size(), 1u);
    EXPECT_FALSE(rtd[0].after_end);
}

TEST(Engine, KeepAliveRequestsArePairedInOrder) {
    Conversation c(1, 2);
    c.handshake();
    // Two pipelined requests in one segment; the responses in one segment too.
    c.client(f::psh | f::ack, "GET /one HTTP/1.1\r\nHost: x\r\n\r\nHEAD /two HTTP/1.1\r\nHost: x\r\n\r\n");
    c.server(f::psh | f::ack,
             "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n");
    c.client(f::psh | f::ack, "GET /three HTTP/1.1\r\nHost: x\r\n\r\n");
    c.server(f::psh | f::ack, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    const auto events = c.run();
    const auto resp = all<HttpResponse>(events);
    ASSERT_EQ(resp.size(), 3u);
    EXPECT_EQ(resp[0].request_uri.value_or(""), "/one");
    EXPECT_EQ(resp[1].request_uri.value_or(""), "/two");
    EXPECT_EQ(resp[1].status, 404);
    EXPECT_EQ(resp[1].body_bytes, 0u);  // a response to HEAD has no body (RFC 9110 §9.3.2)
    EXPECT_TRUE(resp[1].complete);
    EXPECT_EQ(resp[2].request_uri.value_or(""), "/three");
    EXPECT_TRUE(resp[2].chunked);
    EXPECT_EQ(resp[2].body_bytes, 3u);
    EXPECT_EQ(resp[2].chunk_sizes, (std::vector<std::uint64_t>{3, 0}));
    ASSERT_TRUE(resp[2].time_since_request.has_value());
    EXPECT_NEAR(*resp[2].time_since_request, 1e-6, 1e-12);   // frames are 1 µs apart
    EXPECT_EQ(all<HttpRequest>(events).size(), 3u);
}

TEST(Engine, PortReuseStartsANewStream) {
    Conversation c(10, 20);
    c.handshake();
    c.client(f::fin | f::ack);
    c.server(f::fin | f::ack);
    c.client(f::ack);
    Conversation d(5000, 6000);
    d.handshake();
    for (auto& fr : d.frames()) c.frames().push_back(fr);
    const auto events = c.run();
    const auto opened = all<ConnectionOpened>(events);
    ASSERT_EQ(opened.size(), 2u);
    EXPECT_EQ(opened[0].stream, 0u);
    EXPECT_EQ(opened[1].stream, 1u);
    EXPECT_EQ(opened[1].frame, 7u);
    const auto hs = all<Handshake>(events);
    ASSERT_EQ(hs.size(), 6u);
    EXPECT_EQ(hs[3].stream, 1u);
    EXPECT_EQ(all<ConnectionEnd>(events).size(), 2u);
}

TEST(Engine, MidStreamPickupInfersWithoutInventingAHandshake) {
    Conversation c(1000, 2000);
    c.handshake();
    c.client(f::psh | f::ack, get_root);
    c.server(f::psh | f::ack, response_head + "0123456789");
    c.frames().erase(c.frames().begin(), c.frames().begin() + 3);  // the capture started late
    const auto events = c.run();
    const auto opened = all<ConnectionOpened>(events);
    ASSERT_EQ(opened.size(), 1u);
    EXPECT_FALSE(opened[0].handshake_seen);
    EXPECT_EQ(opened[0].client.port, 52126);
    EXPECT_TRUE(all<Handshake>(events).empty());
    const auto resp = all<HttpResponse>(events);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_EQ(resp[0].request_uri.value_or(""), "/");
    EXPECT_EQ(resp[0].segments[0].seq_rel, 1u);
}

TEST(Engine, OutOfOrderSegmentsAreReassembledAndLossIsAGap) {
    Conversation c(1, 2);
    c.handshake();
    c.client(f::psh | f::ack, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.server(f::ack, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n");  // 5
    c.server(f::ack, "abcd");                                          // 6
    c.server(f::psh | f::ack, "efgh");                                 // 7
    std::swap(c.frames()[5], c.frames()[6]);
    auto events = c.run();
    auto resp = all<HttpResponse>(events);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_TRUE(resp[0].complete);
    EXPECT_EQ(resp[0].body_bytes, 8u);
    EXPECT_TRUE(all<StreamGap>(events).empty());

    c.frames().erase(c.frames().begin() + 6);  // now "abcd" is never captured
    events = c.run();
    const auto gaps = all<StreamGap>(events);
    ASSERT_EQ(gaps.size(), 1u);
    EXPECT_EQ(gaps[0].bytes, 4u);
    resp = all<HttpResponse>(events);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_FALSE(resp[0].complete);
}

TEST(Engine, FinishedConnectionsAreFreedByPacketTimeButLatePacketsStayTheirs) {
    Conversation c(10, 20);
    c.handshake();
    c.client(f::fin | f::ack);
    c.server(f::fin | f::ack);
    c.client(f::ack);
    c.server(f::fin | f::ack);   // 7: a late retransmitted FIN, long after the close
    Conversation d(5000, 6000);
    d.handshake();               // 8..10: the ports reused by a new connection
    for (auto& fr : d.frames()) c.frames().push_back(fr);
    c.seconds = {0, 0, 0, 1, 1, 1, 500, 600, 600, 600};
    const auto events = c.run();
    EXPECT_EQ(c.stats().late_frames, 1u);
    const auto opened = all<ConnectionOpened>(events);
    ASSERT_EQ(opened.size(), 2u);
    EXPECT_EQ(opened[1].frame, 8u);
    EXPECT_EQ(opened[1].stream, 1u);
    EXPECT_EQ(all<ConnectionEnd>(events).size(), 2u);
}

TEST(Engine, IdleOpenConnectionIsEndedByPacketTime) {
    Conversation c(10, 20);
    c.handshake();
    Conversation d(5000, 6000, 40000);
    d.handshake();
    for (auto& fr : d.frames()) c.frames().push_back(fr);
    c.seconds = {0, 0, 0, 4000, 4000, 4000};
    EngineOptions o;
    o.idle_timeout_seconds = 3600;
    const auto events = c.run(o);
    const auto ends = all<ConnectionEnd>(events);
    ASSERT_EQ(ends.size(), 2u);
    EXPECT_EQ(ends[0].stream, 0u);
    EXPECT_EQ(ends[0].close_kind, CloseKind::open);
    EXPECT_EQ(ends[0].frame, 4u);   // ended when packet time showed it idle, not at the end
}

TEST(Engine, SimultaneousOpenAndSimultaneousClose) {
    Conversation c(100, 200);
    c.client(f::syn);
    c.server(f::syn);                      // both sent a SYN: SYN-RECEIVED on both sides
    const auto events0 = c.run();
    auto hs = all<Handshake>(events0);
    ASSERT_EQ(hs.size(), 2u);
    EXPECT_EQ(hs[1].client_state, TcpState::syn_received);
    EXPECT_EQ(hs[1].server_state, TcpState::syn_received);

    Conversation d(100, 200);
    d.handshake();
    d.client(f::fin | f::ack);
    d.server(f::fin | f::ack);   // crosses the client's FIN: it does not acknowledge it yet
    const auto events = d.run();
    const auto td = all<Teardown>(events);
    ASSERT_GE(td.size(), 2u);
    EXPECT_EQ(td[0].client_state, TcpState::fin_wait_1);
    // The server's FIN carries ack = client FIN + 1 in this script, so the client moves on to
    // TIME-WAIT directly; a crossing FIN without that ACK gives CLOSING (covered below).
    EXPECT_EQ(td[1].client_state, TcpState::time_wait);
}

TEST(Engine, CrossingFinsGiveClosingOnBothSides) {
    // Build the crossing FINs by hand: each acknowledges only the data before the other's FIN.
    std::deque<std::vector<std::uint8_t>> frames;
    auto make = [&](bool from_client, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags) {
        test::TcpSpec s;
        s.sport = from_client ? 52126 : 3000;
        s.dport = from_client ? 3000 : 52126;
        s.seq = seq;
        s.ack = ack;
        s.flags = flags;
        if (flags & f::syn) s.options = test::syn_options(65495, 7);
        frames.push_back(test::with_link(LinkType::ethernet, test::ip_packet(s), false));
    };
    make(true, 100, 0, f::syn);
    make(false, 200, 101, f::syn | f::ack);
    make(true, 101, 201, f::ack);
    make(true, 101, 201, f::fin | f::ack);    // 4: client FIN
    make(false, 201, 101, f::fin | f::ack);   // 5: server FIN, sent before the client's arrived
    make(true, 102, 202, f::ack);             // 6
    make(false, 202, 102, f::ack);            // 7
    Engine engine;
    std::vector<Event> events;
    auto sink = [&](const Event& e) { events.push_back(e); };
    for (std::size_t i = 0; i < frames.size(); ++i)
        engine.process(Frame{LinkType::ethernet, {1, static_cast<std::uint32_t>(i)}, 0, frames[i]}, sink);
    engine.finish(sink);
    const auto td = all<Teardown>(events);
    ASSERT_EQ(td.size(), 4u);
    // Frame 5 shows the FINs crossed: both sides are in CLOSING (simultaneous close).
    EXPECT_EQ(td[1].client_state, TcpState::closing);
    EXPECT_EQ(td[1].server_state, TcpState::closing);
    EXPECT_EQ(td[2].client_state, TcpState::closing);
    EXPECT_EQ(td[2].server_state, TcpState::time_wait);
    EXPECT_EQ(td[3].client_state, TcpState::time_wait);
    EXPECT_EQ(td[3].server_state, TcpState::time_wait);
    const auto end = all<ConnectionEnd>(events);
    ASSERT_EQ(end.size(), 1u);
    EXPECT_EQ(end[0].close_kind, CloseKind::fin);
    EXPECT_EQ(end[0].conn_state, "SF");
}

TEST(Engine, HalfCloseLetsDataFlowTheOtherWay) {
    Conversation c(1, 2);
    c.handshake();
    c.client(f::psh | f::ack, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    c.client(f::fin | f::ack);                                   // 5: client done sending
    c.server(f::psh | f::ack, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");   // 6: acks the FIN too
    c.server(f::fin | f::ack);                                   // 7
    c.client(f::ack);                                            // 8
    const auto events = c.run();
    const auto td = all<Teardown>(events);
    ASSERT_EQ(td.size(), 4u);
    EXPECT_EQ(td[0].client_state, TcpState::fin_wait_1);
    EXPECT_EQ(td[0].server_state, TcpState::close_wait);
    EXPECT_EQ(td[1].frame, 6u);                 // data in CLOSE-WAIT, acknowledging the FIN
    EXPECT_EQ(td[1].client_state, TcpState::fin_wait_2);
    EXPECT_EQ(td[2].server_state, TcpState::last_ack);
    EXPECT_EQ(td[2].client_state, TcpState::time_wait);
    EXPECT_EQ(td[3].server_state, TcpState::closed);
    const auto resp = all<HttpResponse>(events);
    ASSERT_EQ(resp.size(), 1u);
    EXPECT_TRUE(resp[0].complete);
    EXPECT_EQ(resp[0].request_uri.value_or(""), "/a");
}

TEST(Engine, InterimAndBodylessResponses) {
    Conversation c(1, 2);
    c.handshake();
    c.client(f::psh | f::ack, "GET /a HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"x\"\r\n\r\n"
                              "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc");
    c.server(f::psh | f::ack, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
                              "HTTP/1.1 100 Continue\r\n\r\n"
                              "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    const auto events = c.run();
    const auto resp = all<HttpResponse>(events);
    ASSERT_EQ(resp.size(), 3u);
    EXPECT_EQ(resp[0].status, 304);
    EXPECT_EQ(resp[0].body_bytes, 0u);         // RFC 9110 §15.4.5: no content
    EXPECT_EQ(resp[1].status, 100);
    EXPECT_EQ(resp[1].request_uri.value_or(""), "/b");
    EXPECT_EQ(resp[2].status, 201);
    EXPECT_EQ(resp[2].request_uri.value_or(""), "/b");   // the final answer to the same request
    const auto req = all<HttpRequest>(events);
    ASSERT_EQ(req.size(), 2u);
    EXPECT_EQ(req[1].body_bytes, 3u);
}

TEST(Engine, PortFilterAndNonTcpAreCounted) {
    Conversation c(1, 2, 40000);
    c.handshake();
    EngineOptions o;
    o.port = 8080;
    const auto events = c.run(o);
    EXPECT_TRUE(events.empty());
    EXPECT_EQ(c.stats().frames, 3u);
    EXPECT_EQ(c.stats().ignored, 3u);
}

TEST(Engine, SameEventsUnderEveryLinkTypeAndIpv6) {
    auto script = [](Conversation& c) {
        c.handshake();
        c.client(f::psh | f::ack, get_root);
        c.server(f::psh | f::ack, response_head + "0123456789");
        c.client(f::fin | f::ack);
        c.server(f::fin | f::ack);
        c.client(f::ack);
    };
    Conversation ref(77, 88);
    script(ref);
    const auto expected = ref.run();
    for (LinkType link : {LinkType::null, LinkType::loop, LinkType::linux_sll, LinkType::linux_sll2, LinkType::raw}) {
        for (bool v6 : {false, true}) {
            Conversation c(77, 88, 52126, link, v6);
            script(c);
            const auto got = c.run();
            ASSERT_EQ(got.size(), expected.size()) << int(link);
            for (std::size_t i = 0; i < got.size(); ++i) {
                EXPECT_EQ(event_name(got[i]), event_name(expected[i]));
                EXPECT_EQ(base_of(got[i]).frame, base_of(expected[i]).frame);
            }
        }
    }
}

TEST(Engine, NeverCrashesOnGarbage) {
    Engine engine;
    std::vector<Event> events;
    auto sink = [&](const Event& e) { events.push_back(e); };
    std::uint32_t state = 12345;
    for (int i = 0; i < 2000; ++i) {
        std::vector<std::uint8_t> bytes(static_cast<std::size_t>(i % 120));
        for (auto& b : bytes) {
            state = state * 1103515245u + 12345u;
            b = static_cast<std::uint8_t>(state >> 16);
        }
        if (bytes.size() > 14) { bytes[12] = 0x08; bytes[13] = 0x00; }
        engine.process(Frame{LinkType::ethernet, {}, 0, bytes}, sink);
    }
    engine.finish(sink);
    EXPECT_EQ(engine.stats().frames, 2000u);
}

}  // namespace
}  // namespace labtool::analysis
