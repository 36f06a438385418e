// Wireshark-style sequence analysis on segments built in the test, one scenario per flag,
// with initial sequence numbers near 2^32 so every comparison wraps.
#include "labtool/analysis/seq_analysis.hpp"

#include <gtest/gtest.h>

namespace labtool::analysis {
namespace {

namespace f = tcp_flag;
constexpr std::uint32_t c_isn = 0xFFFFFF00u;   // wraps after 256 bytes
constexpr std::uint32_t s_isn = 0xFFFFFFF0u;
constexpr std::int64_t ms = 1'000'000;

/// Drives one SeqAnalyzer: direction 0 is the client.
class Script {
public:
    PacketAnalysis send(int dir, std::uint8_t flags, std::uint32_t rel_seq, std::uint32_t rel_ack, std::uint32_t len,
                        std::int64_t at_ms, std::uint16_t window = 512) {
        TcpSegment s;
        s.flags = flags;
        s.seq = (dir == 0 ? c_isn : s_isn) + rel_seq;
        s.ack = (flags & f::ack) ? (dir == 0 ? s_isn : c_isn) + rel_ack : 0;
        s.payload_len = len;
        s.window = window;
        if (flags & f::syn) s.options.wscale = 7;
        return analyzer.analyze(s, dir, at_ms * ms, ++frame, false);
    }
    void handshake() {
        send(0, f::syn, 0, 0, 0, 0);
        send(1, f::syn | f::ack, 0, 1, 0, 1);
        send(0, f::ack, 1, 1, 0, 2);
    }
    SeqAnalyzer analyzer;
    std::uint64_t frame = 0;
};

/// The rule of `flag` that fired on `a`, or nullptr.
const AnalysisRule* rule_of(const PacketAnalysis& a, AnalysisFlag flag) {
    for (const auto& r : a.rules)
        if (r.flag == flag) return &r;
    return nullptr;
}

TEST(SeqAnalysis, CleanTransferHasNoFlagsAndCountsBytesInFlight) {
    Script s;
    s.handshake();
    auto a = s.send(1, f::ack | f::psh, 1, 1, 1000, 10);
    EXPECT_EQ(a.flags, 0u);
    ASSERT_TRUE(a.bytes_in_flight.has_value());
    EXPECT_EQ(*a.bytes_in_flight, 1000u);
    a = s.send(1, f::ack, 1001, 1, 1000, 11);
    EXPECT_EQ(a.bytes_in_flight.value_or(0), 2000u);
    EXPECT_EQ(a.window, 512 << 7);      // scaled by the shift from the SYNs
    EXPECT_EQ(a.window_scale, 128);
    a = s.send(0, f::ack, 1, 2001, 0, 12);
    EXPECT_EQ(a.flags, 0u);
    EXPECT_EQ(a.acks_frame, 5u);
    ASSERT_TRUE(a.ack_rtt.has_value());
    EXPECT_NEAR(*a.ack_rtt, 0.001, 1e-9);
    EXPECT_EQ(s.analyzer.completeness(), 1 + 2 + 4 + 8);
    ASSERT_TRUE(s.analyzer.initial_rtt().has_value());
    EXPECT_NEAR(*s.analyzer.initial_rtt(), 0.002, 1e-9);
}

TEST(SeqAnalysis, RetransmissionAfterTheRttIsARetransmission) {
    Script s;
    s.handshake();
    s.send(1, f::ack, 1, 1, 1000, 10);
    const auto a = s.send(1, f::ack, 1, 1, 1000, 300);
    EXPECT_TRUE(a.has(AnalysisFlag::retransmission));
    EXPECT_FALSE(a.has(AnalysisFlag::out_of_order));
    ASSERT_FALSE(a.rules.empty());
    EXPECT_EQ(a.rules.back().flag, AnalysisFlag::retransmission);
    EXPECT_EQ(a.rules.back().seq, 1u);
    EXPECT_EQ(a.rules.back().next, 1001u);
    EXPECT_EQ(a.rules.back().len, 1000u);
}

TEST(SeqAnalysis, LateSegmentWithinTheRttIsOutOfOrderAndTheEarlyOneLost) {
    Script s;
    s.handshake();   // initial RTT 2 ms
    auto early = s.send(1, f::ack, 1001, 1, 1000, 10);
    (void)early;
    s.send(1, f::ack, 2001, 1, 1000, 10);
    const auto ooo = s.send(1, f::ack, 1, 1, 1000, 11);
    EXPECT_TRUE(ooo.has(AnalysisFlag::out_of_order));
    const AnalysisRule* r = rule_of(ooo, AnalysisFlag::out_of_order);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->seq, 1u);
    EXPECT_EQ(r->next, 3001u);
    EXPECT_DOUBLE_EQ(r->ms, 1.0);        // after the segment that set next seq
    EXPECT_DOUBLE_EQ(r->limit_ms, 2.0);  // the initial RTT
    Script t;
    t.handshake();
    t.send(1, f::ack, 1, 1, 1000, 10);
    const auto lost = t.send(1, f::ack, 2001, 1, 1000, 11);
    EXPECT_TRUE(lost.has(AnalysisFlag::lost_segment));
    r = rule_of(lost, AnalysisFlag::lost_segment);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->seq, 2001u);
    EXPECT_EQ(r->next, 1001u);
    EXPECT_EQ(r->bytes, 1000u);
}

TEST(SeqAnalysis, DuplicateAcksThenFastRetransmission) {
    Script s;
    s.handshake();
    s.send(1, f::ack, 1, 1, 1000, 10);          // 4
    s.send(1, f::ack, 1001, 1, 1000, 10);       // 5 (lost on the way)
    s.send(1, f::ack, 2001, 1, 1000, 10);       // 6
    s.send(0, f::ack, 1, 1001, 0, 11);          // 7 ack of 4
    auto d1 = s.send(0, f::ack, 1, 1001, 0, 12);
    auto d2 = s.send(0, f::ack, 1, 1001, 0, 12);
    EXPECT_TRUE(d1.has(AnalysisFlag::duplicate_ack));
    EXPECT_EQ(d1.dup_ack_num, 1u);
    EXPECT_EQ(d1.dup_ack_frame, 7u);
    EXPECT_EQ(d2.dup_ack_num, 2u);
    const AnalysisRule* dup = rule_of(d2, AnalysisFlag::duplicate_ack);
    ASSERT_NE(dup, nullptr);
    EXPECT_EQ(dup->ack, 1001u);
    EXPECT_EQ(dup->window, 512u);
    EXPECT_EQ(dup->frame, 7u);
    EXPECT_EQ(dup->count, 2u);
    const auto r = s.send(1, f::ack, 1001, 1, 1000, 13);
    EXPECT_TRUE(r.has(AnalysisFlag::fast_retransmission));
    EXPECT_TRUE(r.has(AnalysisFlag::retransmission));   // a fast retransmission is also one (tcp.analysis.retransmission)
    const AnalysisRule* fast = rule_of(r, AnalysisFlag::fast_retransmission);
    ASSERT_NE(fast, nullptr);
    EXPECT_EQ(fast->seq, 1001u);
    EXPECT_EQ(fast->count, 2u);
    EXPECT_DOUBLE_EQ(fast->ms, 1.0);
    EXPECT_DOUBLE_EQ(fast->limit_ms, 20.0);
}

TEST(SeqAnalysis, SpuriousRetransmissionOfAcknowledgedData) {
    Script s;
    s.handshake();
    s.send(1, f::ack, 1, 1, 1000, 10);
    s.send(0, f::ack, 1, 1001, 0, 11);
    const auto a = s.send(1, f::ack, 1, 1, 1000, 400);
    EXPECT_TRUE(a.has(AnalysisFlag::spurious_retransmission));
    const AnalysisRule* r = rule_of(a, AnalysisFlag::spurious_retransmission);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->seq, 1u);
    EXPECT_EQ(r->len, 1000u);
    EXPECT_EQ(r->peer_ack, 1001u);
}

TEST(SeqAnalysis, ZeroWindowProbeAndProbeAck) {
    Script s;
    s.handshake();
    s.send(1, f::ack, 1, 1, 1000, 10);
    auto zw = s.send(0, f::ack, 1, 1001, 0, 11, 0);
    EXPECT_TRUE(zw.has(AnalysisFlag::zero_window));
    auto probe = s.send(1, f::ack, 1001, 1, 1, 300);
    EXPECT_TRUE(probe.has(AnalysisFlag::zero_window_probe));
    const AnalysisRule* r = rule_of(probe, AnalysisFlag::zero_window_probe);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->variant, 0);
    EXPECT_EQ(r->seq, 1001u);
    EXPECT_EQ(r->len, 1u);
    auto probe_ack = s.send(0, f::ack, 1, 1001, 0, 301, 0);
    EXPECT_TRUE(probe_ack.has(AnalysisFlag::zero_window_probe_ack));
    EXPECT_FALSE(probe_ack.has(AnalysisFlag::duplicate_ack));
    r = rule_of(probe_ack, AnalysisFlag::zero_window_probe_ack);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->ack, 1001u);
    auto update = s.send(0, f::ack, 1, 1001, 0, 400, 300);
    EXPECT_TRUE(update.has(AnalysisFlag::window_update));
    r = rule_of(update, AnalysisFlag::window_update);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->old_window, 0u);
    EXPECT_EQ(r->window, 300u);
}

TEST(SeqAnalysis, LinuxZeroWindowProbeIsAProbeNotAKeepAlive) {
    // Linux probes a closed window with seq = next - 1 and no data (tcp_xmit_probe_skb); tshark
    // 4.0 calls that a keep-alive. labtool checks the peer's window first.
    Script s;
    s.handshake();
    s.send(1, f::ack, 1, 1, 1000, 10);
    s.send(0, f::ack, 1, 1001, 0, 11, 0);             // client: window 0
    const auto probe = s.send(1, f::ack, 1000, 1, 0, 300);
    EXPECT_TRUE(probe.has(AnalysisFlag::zero_window_probe));
    EXPECT_FALSE(probe.has(AnalysisFlag::keep_alive));
    const AnalysisRule* r = rule_of(probe, AnalysisFlag::zero_window_probe);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->variant, 1);   // the Linux probe: next seq - 1
    EXPECT_EQ(r->seq, 1000u);
    EXPECT_EQ(r->next, 1001u);
    EXPECT_EQ(r->len, 0u);
    const auto answer = s.send(0, f::ack, 1, 1001, 0, 301, 0);
    EXPECT_TRUE(answer.has(AnalysisFlag::zero_window));
    EXPECT_TRUE(answer.has(AnalysisFlag::zero_window_probe_ack));
}

TEST(SeqAnalysis, KeepAliveAndItsAck) {
    Script s;
    s.handshake();
    s.send(1, f::ack, 1, 1, 100, 10);
    s.send(0, f::ack, 1, 101, 0, 11);
    auto ka = s.send(1, f::ack, 100, 1, 0, 5000);
    EXPECT_TRUE(ka.has(AnalysisFlag::keep_alive));
    EXPECT_FALSE(ka.has(AnalysisFlag::retransmission));
    const AnalysisRule* r = rule_of(ka, AnalysisFlag::keep_alive);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->seq, 100u);
    EXPECT_EQ(r->next, 101u);
    const auto ka_ack = s.send(0, f::ack, 1, 101, 0, 5001);
    EXPECT_TRUE(ka_ack.has(AnalysisFlag::keep_alive_ack));
    r = rule_of(ka_ack, AnalysisFlag::keep_alive_ack);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->ack, 101u);
}

TEST(SeqAnalysis, AckOfUnseenSegmentAndWindowFull) {
    Script s;
    s.handshake();
    s.send(1, f::ack, 1, 1, 100, 10);
    const auto unseen = s.send(0, f::ack, 1, 5001, 0, 11);
    EXPECT_TRUE(unseen.has(AnalysisFlag::ack_lost_segment));
    const AnalysisRule* r = rule_of(unseen, AnalysisFlag::ack_lost_segment);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->ack, 5001u);
    EXPECT_EQ(r->highest, 101u);
    Script w;
    w.handshake();
    w.send(0, f::ack, 1, 1, 0, 3, 2);           // client window 2 << 7 = 256 bytes
    const auto full = w.send(1, f::ack, 1, 1, 256, 10);
    EXPECT_TRUE(full.has(AnalysisFlag::window_full));
    r = rule_of(full, AnalysisFlag::window_full);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->seq, 1u);
    EXPECT_EQ(r->len, 256u);
    EXPECT_EQ(r->peer_ack, 1u);
    EXPECT_EQ(r->peer_window, 256u);
}

TEST(SeqAnalysis, WindowScalingNeedsBothSyns) {
    Script s;
    TcpSegment syn;
    syn.flags = f::syn;
    syn.seq = c_isn;
    syn.window = 100;
    syn.options.wscale = 7;
    s.analyzer.analyze(syn, 0, 0, 1, false);
    TcpSegment synack;
    synack.flags = f::syn | f::ack;
    synack.seq = s_isn;
    synack.ack = c_isn + 1;
    synack.window = 100;   // no window-scale option: neither side scales (RFC 7323 §1.3)
    s.analyzer.analyze(synack, 1, 1, 2, false);
    TcpSegment ack;
    ack.flags = f::ack;
    ack.seq = c_isn + 1;
    ack.ack = s_isn + 1;
    ack.window = 100;
    const auto a = s.analyzer.analyze(ack, 0, 2, 3, false);
    EXPECT_EQ(a.window, 100);
    EXPECT_EQ(a.window_scale, -2);
}

TEST(SeqAnalysis, SackBlocksAndDsack) {
    Script s;
    s.handshake();
    TcpSegment seg;
    seg.flags = f::ack;
    seg.seq = c_isn + 1;
    seg.ack = s_isn + 1001;
    seg.window = 512;
    seg.options.sack_blocks = 1;
    seg.options.sack[0] = {s_isn + 1, s_isn + 501};   // below the ACK: duplicate data (RFC 2883)
    const auto a = s.analyzer.analyze(seg, 0, 20 * ms, 10, false);
    ASSERT_EQ(a.sack.size(), 1u);
    EXPECT_TRUE(a.dsack);
    EXPECT_EQ(std::string(analysis_flag_name(0)), "retransmission");
}

}  // namespace
}  // namespace labtool::analysis
