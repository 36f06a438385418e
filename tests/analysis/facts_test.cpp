// The facts the engine decides for the sentences students read (issue 10): how a close went and
// each side's RFC 9293 states, checksums as captured, segment sizes from the negotiated MSS and
// options, what ended each segment, idle closes, preconnects, ranges. Run on the hand-built
// captures of tests/golden/scenarios.hpp (Linux lo, Windows Npcap, macOS lo0).
#include "../golden/scenarios.hpp"
#include "labtool/analysis/engine.hpp"

#include <gtest/gtest.h>

namespace labtool::analysis {
namespace {

namespace sc = test::scenarios;

std::vector<Event> run(const sc::Capture& cap, EngineOptions o = {}) {
    o.emit_packets = true;
    Engine engine(o);
    std::vector<Event> events;
    auto sink = [&](const Event& e) { events.push_back(e); };
    for (const auto& f : cap.frames) {
        const Timestamp ts{static_cast<std::int64_t>(f.ts_us / 1000000), static_cast<std::uint32_t>(f.ts_us % 1000000) * 1000};
        engine.process(Frame{cap.link, ts, static_cast<std::uint32_t>(f.bytes.size()), f.bytes}, sink);
    }
    engine.finish(sink);
    return events;
}

template <typename T>
std::vector<T> all(const std::vector<Event>& events) {
    std::vector<T> out;
    for (const auto& e : events)
        if (const T* p = std::get_if<T>(&e)) out.push_back(*p);
    return out;
}

std::vector<TcpState> states_of(const std::vector<StateChange>& changes) {
    std::vector<TcpState> out;
    for (const auto& c : changes) out.push_back(c.state);
    return out;
}

using S = TcpState;

TEST(Facts, SimultaneousCloseFollowsRfc9293OnBothSides) {
    const auto events = run(sc::simultaneous_close());
    const auto td = all<Teardown>(events);
    ASSERT_EQ(td.size(), 4u);
    // The client's FIN: held until the server's FIN showed that they crossed, so the server is
    // never said to be in CLOSE-WAIT.
    EXPECT_TRUE(td[0].fin);
    EXPECT_TRUE(td[0].crossed);
    EXPECT_EQ(td[0].client_state, S::fin_wait_1);
    EXPECT_EQ(td[0].server_state, S::established);
    EXPECT_TRUE(td[1].fin);
    EXPECT_TRUE(td[1].crossed);
    EXPECT_FALSE(td[1].acks_fin);
    EXPECT_EQ(td[1].client_state, S::closing);
    EXPECT_EQ(td[1].server_state, S::closing);
    ASSERT_TRUE(td[2].enters_time_wait && td[3].enters_time_wait);
    EXPECT_NE(*td[2].enters_time_wait, *td[3].enters_time_wait);   // each side, at its own ACK
    // Events stay in frame order although one was held.
    std::uint64_t last = 0;
    for (const auto& e : events) {
        EXPECT_GE(base_of(e).frame, last) << event_name(e);
        last = base_of(e).frame;
    }
    const auto end = all<ConnectionEnd>(events).at(0);
    EXPECT_EQ(end.close_pattern, ClosePattern::simultaneous);
    EXPECT_EQ(end.teardown_packets, 4u);
    EXPECT_EQ(end.client_state, S::time_wait);
    EXPECT_EQ(end.server_state, S::time_wait);
    EXPECT_EQ(states_of(end.client_states),
              (std::vector<S>{S::closed, S::syn_sent, S::established, S::fin_wait_1, S::closing, S::time_wait}));
    EXPECT_EQ(states_of(end.server_states),
              (std::vector<S>{S::listen, S::syn_received, S::established, S::fin_wait_1, S::closing, S::time_wait}));
}

TEST(Facts, FourPacketCloseWaitsInFinWait2) {
    const auto events = run(sc::fin_wait_2_close());
    const auto end = all<ConnectionEnd>(events).at(0);
    EXPECT_EQ(end.close_pattern, ClosePattern::four_packet);
    EXPECT_EQ(end.teardown_packets, 4u);
    EXPECT_EQ(states_of(end.client_states),
              (std::vector<S>{S::closed, S::syn_sent, S::established, S::fin_wait_1, S::fin_wait_2, S::time_wait}));
    EXPECT_EQ(states_of(end.server_states),
              (std::vector<S>{S::listen, S::syn_received, S::established, S::close_wait, S::last_ack, S::closed}));
    const auto td = all<Teardown>(events);
    ASSERT_EQ(td.size(), 4u);
    EXPECT_FALSE(td[0].crossed);
    EXPECT_EQ(td[0].server_state, S::close_wait);
    ASSERT_TRUE(td[2].after_peer_fin);
    EXPECT_NEAR(*td[2].after_peer_fin, 2.0, 0.01);
    EXPECT_FALSE(td[2].merged_with_ack);
}

TEST(Facts, ThreePacketCloseSkipsFinWait2AndServerIdleCloseMatchesKeepAlive) {
    const auto events = run(sc::server_idle_close());
    const auto td = all<Teardown>(events);
    ASSERT_EQ(td.size(), 3u);
    EXPECT_EQ(td[0].from, Direction::server_to_client);
    ASSERT_TRUE(td[0].idle_before && td[0].keep_alive_timeout);
    EXPECT_NEAR(*td[0].idle_before, 5.0, 0.01);
    EXPECT_DOUBLE_EQ(*td[0].keep_alive_timeout, 5.0);
    EXPECT_TRUE(td[0].idle_close);
    EXPECT_TRUE(td[1].merged_with_ack);
    EXPECT_TRUE(td[1].skips_fin_wait_2);
    const auto end = all<ConnectionEnd>(events).at(0);
    EXPECT_EQ(end.close_pattern, ClosePattern::three_packet);
    EXPECT_EQ(end.teardown_packets, 3u);
    const auto server = states_of(end.server_states);
    EXPECT_EQ(std::count(server.begin(), server.end(), S::fin_wait_2), 0);
    EXPECT_EQ(server.back(), S::time_wait);
    const auto resp = all<HttpResponse>(events).at(0);
    ASSERT_TRUE(resp.keep_alive_timeout);
    EXPECT_DOUBLE_EQ(*resp.keep_alive_timeout, 5.0);
}

TEST(Facts, ClientCloseIsNotAnIdleClose) {
    const auto td = all<Teardown>(run(sc::fin_wait_2_close()));
    EXPECT_FALSE(td.at(0).idle_close);
}

TEST(Facts, ChecksumsAsCaptured) {
    // Linux loopback: TCP checksum offload (pseudo-header sum only), IPv4 header valid.
    auto end = all<ConnectionEnd>(run(sc::simultaneous_close())).at(0);
    EXPECT_EQ(end.checksums.tcp[static_cast<std::size_t>(ChecksumStatus::not_computed)], 10u);
    EXPECT_EQ(end.checksums.tcp[static_cast<std::size_t>(ChecksumStatus::valid)], 0u);
    EXPECT_EQ(end.checksums.ipv4[static_cast<std::size_t>(ChecksumStatus::valid)], 10u);
    // Npcap: both zero.
    end = all<ConnectionEnd>(run(sc::windows_npcap_capture())).at(0);
    EXPECT_EQ(end.checksums.ipv4[static_cast<std::size_t>(ChecksumStatus::not_computed)],
              end.client_to_server.packets + end.server_to_client.packets);
    // macOS capture with real checksums: all valid, nothing to explain.
    const auto events = run(sc::macos_lo0_capture());
    end = all<ConnectionEnd>(events).at(0);
    const auto packets = end.client_to_server.packets + end.server_to_client.packets;
    EXPECT_EQ(end.checksums.tcp[static_cast<std::size_t>(ChecksumStatus::valid)], packets);
    EXPECT_EQ(end.checksums.ipv4[static_cast<std::size_t>(ChecksumStatus::valid)], packets);
    // One flipped payload bit makes it invalid.
    auto cap = sc::macos_lo0_capture();
    auto& bytes = cap.frames.at(5).bytes;
    bytes.back() ^= 0x01;
    end = all<ConnectionEnd>(run(cap)).at(0);
    EXPECT_EQ(end.checksums.tcp[static_cast<std::size_t>(ChecksumStatus::invalid)], 1u);
}

TEST(Facts, SegmentSizesComeFromTheNegotiatedMssAndOptions) {
    // Windows Npcap: MSS 65495, no timestamps: 65495-byte segments, 1460 on Ethernet.
    auto resp = all<HttpResponse>(run(sc::windows_npcap_capture())).at(0);
    EXPECT_TRUE(resp.sizing.mss_known);
    EXPECT_EQ(resp.sizing.mss, 65495);
    EXPECT_EQ(resp.sizing.option_bytes, 0u);
    EXPECT_EQ(resp.sizing.max_payload, 65495u);
    EXPECT_EQ(resp.sizing.largest, 65495u);
    EXPECT_EQ(resp.sizing.largest_ip_packet, 65535u);
    EXPECT_EQ(resp.sizing.ethernet_payload, 1460u);
    EXPECT_EQ(resp.sizing.ethernet_segments, (resp.header_bytes + resp.body_bytes + 1459) / 1460);
    EXPECT_GE(resp.ended_by_mss, 1u);
    // macOS lo0: MSS 16344 with timestamps: 16332 bytes of data; Ethernet 1460 - 12 = 1448; the
    // small client window ends some segments (flow control).
    resp = all<HttpResponse>(run(sc::macos_lo0_capture())).at(0);
    EXPECT_EQ(resp.sizing.mss, 16344);
    EXPECT_EQ(resp.sizing.option_bytes, 12u);
    EXPECT_EQ(resp.sizing.max_payload, 16332u);
    EXPECT_EQ(resp.sizing.largest, 16332u);
    EXPECT_EQ(resp.sizing.largest_ip_packet, 16384u);
    EXPECT_EQ(resp.sizing.ethernet_payload, 1448u);
    EXPECT_GE(resp.ended_by_window, 1u);
    std::uint32_t window = 0;
    for (const auto& g : resp.segments) window += g.limit == SegmentLimit::window ? 1u : 0u;
    EXPECT_EQ(window, resp.ended_by_window);
    // IPv6 loopback: MSS 65476 = 65536 - 60, 65464 with timestamps; Ethernet 1440 - 12.
    const auto events = run(sc::reset_mid_response());
    resp = all<HttpResponse>(events).at(0);
    EXPECT_TRUE(resp.sizing.ipv6);
    EXPECT_EQ(resp.sizing.mss, 65476);
    EXPECT_EQ(resp.sizing.largest_ip_packet, 65536u);
    EXPECT_EQ(resp.sizing.max_payload, 65464u);
    EXPECT_EQ(resp.sizing.ethernet_payload, 1428u);
}

TEST(Facts, ResetMidResponse) {
    const auto events = run(sc::reset_mid_response());
    const auto resp = all<HttpResponse>(events).at(0);
    EXPECT_FALSE(resp.complete);
    EXPECT_TRUE(resp.cut_by_reset);
    ASSERT_TRUE(resp.content_length && resp.bytes_missing);
    EXPECT_EQ(*resp.bytes_missing, *resp.content_length - resp.body_bytes);
    EXPECT_TRUE(resp.range_whole_file);
    EXPECT_EQ(resp.range_first, 0u);
    EXPECT_EQ(resp.range_complete, 1441764u);
    EXPECT_GE(resp.psh_segments, 2u);
    EXPECT_EQ(all<ConnectionEnd>(events).at(0).close_pattern, ClosePattern::rst);
}

TEST(Facts, PreconnectOnlyBesideAnotherConnection) {
    auto end = all<ConnectionEnd>(run(sc::curl_idle())).at(0);
    EXPECT_TRUE(end.unused);
    EXPECT_FALSE(end.preconnect);   // alone: a probe, not a browser's spare connection
    const auto events = run(sc::two_connections());
    const auto opened = all<ConnectionOpened>(events);
    ASSERT_EQ(opened.size(), 2u);
    EXPECT_FALSE(opened[0].alongside);
    ASSERT_TRUE(opened[1].alongside);
    EXPECT_EQ(*opened[1].alongside, 0u);
    for (const auto& e : all<ConnectionEnd>(events)) {
        EXPECT_EQ(e.preconnect, e.stream == 1) << e.stream;
        EXPECT_EQ(e.unused, e.stream == 1) << e.stream;
    }
}

TEST(Facts, FlushReleasesAHeldFin) {
    // Live capture calls flush() when idle: the first FIN, held for the next packet, is then
    // shown without waiting for the answer; nothing is lost or repeated.
    const auto cap = sc::fin_wait_2_close();
    Engine live;
    std::vector<Event> events;
    auto sink = [&](const Event& e) { events.push_back(e); };
    bool released_by_flush = false;
    for (std::size_t i = 0; i < cap.frames.size(); ++i) {
        const auto& f = cap.frames[i];
        const Timestamp ts{static_cast<std::int64_t>(f.ts_us / 1000000), static_cast<std::uint32_t>(f.ts_us % 1000000) * 1000};
        live.process(Frame{cap.link, ts, static_cast<std::uint32_t>(f.bytes.size()), f.bytes}, sink);
        const std::size_t before = all<Teardown>(events).size();
        live.flush(sink);
        const auto td = all<Teardown>(events);
        if (td.size() > before) {
            released_by_flush = true;
            EXPECT_TRUE(td.back().fin);
            EXPECT_EQ(td.back().frame, i + 1);   // the FIN's own frame
        }
    }
    live.finish(sink);
    EXPECT_TRUE(released_by_flush);
    EXPECT_EQ(all<Teardown>(events).size(), 4u);
}

}  // namespace
}  // namespace labtool::analysis
