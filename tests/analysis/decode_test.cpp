// Decoding: every link type, IPv4/IPv6, TCP options, and packets truncated at every length.
#include "labtool/analysis/decode.hpp"
#include "packet_builder.hpp"

#include <gtest/gtest.h>

namespace labtool::analysis {
namespace {

using test::TcpSpec;

TcpSpec syn_spec(bool v6) {
    TcpSpec s;
    s.v6 = v6;
    s.sport = 52126;
    s.dport = 3000;
    s.seq = 1055145363;
    s.flags = tcp_flag::syn;
    s.options = test::syn_options(65495, 10);
    return s;
}

struct LinkCase {
    LinkType link;
    bool v6;
};

class DecodeLinks : public ::testing::TestWithParam<LinkCase> {};

TEST_P(DecodeLinks, DecodesSynWithOptions) {
    const auto [link, v6] = GetParam();
    if ((link == LinkType::ipv4 && v6) || (link == LinkType::ipv6 && !v6)) GTEST_SKIP() << "not a valid combination";
    TcpSpec s = syn_spec(v6);
    const auto bytes = test::with_link(link, test::ip_packet(s), v6);
    Frame f{link, {}, static_cast<std::uint32_t>(bytes.size()), bytes};
    TcpSegment seg;
    ASSERT_EQ(decode(f, seg), DecodeStatus::ok);
    EXPECT_EQ(seg.src.v6, v6);
    EXPECT_EQ(seg.src_port, 52126);
    EXPECT_EQ(seg.dst_port, 3000);
    EXPECT_EQ(seg.seq, 1055145363u);
    EXPECT_TRUE(seg.has(tcp_flag::syn));
    EXPECT_FALSE(seg.has(tcp_flag::ack));
    ASSERT_TRUE(seg.options.mss.has_value());
    EXPECT_EQ(*seg.options.mss, 65495);
    ASSERT_TRUE(seg.options.wscale.has_value());
    EXPECT_EQ(*seg.options.wscale, 10);
    EXPECT_TRUE(seg.options.sack_permitted);
    EXPECT_TRUE(seg.options.ts_val.has_value());
    EXPECT_EQ(seg.payload_len, 0u);
    EXPECT_EQ(to_string(seg.dst), v6 ? "::1" : "127.0.0.1");
}

INSTANTIATE_TEST_SUITE_P(AllLinks, DecodeLinks,
                         ::testing::Values(LinkCase{LinkType::ethernet, false}, LinkCase{LinkType::ethernet, true},
                                           LinkCase{LinkType::null, false}, LinkCase{LinkType::null, true},
                                           LinkCase{LinkType::loop, false}, LinkCase{LinkType::loop, true},
                                           LinkCase{LinkType::linux_sll, false}, LinkCase{LinkType::linux_sll, true},
                                           LinkCase{LinkType::linux_sll2, false}, LinkCase{LinkType::linux_sll2, true},
                                           LinkCase{LinkType::raw, false}, LinkCase{LinkType::raw, true},
                                           LinkCase{LinkType::ipv4, false}, LinkCase{LinkType::ipv6, true}));

TEST(Decode, NullLinkAcceptsEveryInet6Family) {
    for (std::uint8_t af : {24, 28, 30}) {
        TcpSpec s = syn_spec(true);
        auto bytes = test::with_link(LinkType::null, test::ip_packet(s), true);
        bytes[0] = af;
        TcpSegment seg;
        EXPECT_EQ(decode(Frame{LinkType::null, {}, 0, bytes}, seg), DecodeStatus::ok) << int(af);
        EXPECT_TRUE(seg.src.v6);
    }
}

TEST(Decode, PayloadAndLengthsFromIpHeader) {
    TcpSpec s = syn_spec(false);
    s.flags = tcp_flag::psh | tcp_flag::ack;
    s.options.clear();
    s.payload = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    auto bytes = test::with_link(LinkType::ethernet, test::ip_packet(s), false);
    bytes.resize(bytes.size() + 6, 0);  // Ethernet padding must not count as payload
    TcpSegment seg;
    ASSERT_EQ(decode(Frame{LinkType::ethernet, {}, 0, bytes}, seg), DecodeStatus::ok);
    EXPECT_EQ(seg.payload_len, s.payload.size());
    EXPECT_EQ(std::string(seg.payload.begin(), seg.payload.end()), s.payload);
    EXPECT_EQ(seg.missing(), 0u);
}

TEST(Decode, SnaplenCutPayloadIsMarkedMissing) {
    TcpSpec s = syn_spec(false);
    s.options.clear();
    s.flags = tcp_flag::ack;
    s.payload = std::string(1000, 'x');
    auto bytes = test::with_link(LinkType::ethernet, test::ip_packet(s), false);
    bytes.resize(14 + 20 + 20 + 100);
    TcpSegment seg;
    ASSERT_EQ(decode(Frame{LinkType::ethernet, {}, 1054, bytes}, seg), DecodeStatus::ok);
    EXPECT_EQ(seg.payload_len, 1000u);
    EXPECT_EQ(seg.payload.size(), 100u);
    EXPECT_EQ(seg.missing(), 900u);
}

TEST(Decode, TruncatedAtEveryLengthIsNeverOkBeforeTheTcpHeaderEnds) {
    for (bool v6 : {false, true}) {
        for (LinkType link : {LinkType::ethernet, LinkType::null, LinkType::linux_sll2}) {
            TcpSpec s = syn_spec(v6);
            const auto bytes = test::with_link(link, test::ip_packet(s), v6);
            const std::size_t header_end = bytes.size();  // SYN: no payload
            for (std::size_t len = 0; len < header_end; ++len) {
                std::span<const std::uint8_t> cut(bytes.data(), len);
                TcpSegment seg;
                const auto st = decode(Frame{link, {}, static_cast<std::uint32_t>(bytes.size()), cut}, seg);
                EXPECT_EQ(st, DecodeStatus::truncated) << "v6=" << v6 << " link=" << int(link) << " len=" << len;
            }
        }
    }
}

TEST(Decode, InvalidHeadersAreInvalidNotTruncated) {
    TcpSpec s = syn_spec(false);
    auto bytes = test::ip_packet(s);
    bytes[0] = 0x43;  // IHL 3 words < 5
    TcpSegment seg;
    EXPECT_EQ(decode(Frame{LinkType::raw, {}, 0, bytes}, seg), DecodeStatus::invalid);
    bytes = test::ip_packet(s);
    bytes[20 + 12] = 0x30;  // TCP data offset 12 bytes < 20
    EXPECT_EQ(decode(Frame{LinkType::raw, {}, 0, bytes}, seg), DecodeStatus::invalid);
}

TEST(Decode, NonTcpAndNonIp) {
    TcpSpec s = syn_spec(false);
    auto ip = test::ip_packet(s);
    ip[9] = 17;  // UDP
    TcpSegment seg;
    EXPECT_EQ(decode(Frame{LinkType::raw, {}, 0, ip}, seg), DecodeStatus::not_tcp);
    std::vector<std::uint8_t> arp(42, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_EQ(decode(Frame{LinkType::ethernet, {}, 0, arp}, seg), DecodeStatus::not_ip);
    EXPECT_EQ(decode(Frame{static_cast<LinkType>(127), {}, 0, arp}, seg), DecodeStatus::unsupported_link);
}

TEST(Decode, MalformedOptionStopsParsingSafely) {
    TcpSpec s = syn_spec(false);
    s.options = {2, 4, 0xff, 0xd7, 3, 9, 1, 1};  // window-scale option claims 9 bytes
    TcpSegment seg;
    const auto ip = test::ip_packet(s);
    ASSERT_EQ(decode(Frame{LinkType::raw, {}, 0, ip}, seg), DecodeStatus::ok);
    EXPECT_EQ(seg.options.mss.value_or(0), 0xffd7);
    EXPECT_TRUE(seg.options.malformed);
    EXPECT_FALSE(seg.options.wscale.has_value());
}

TEST(Decode, FlagsAndAddressesToString) {
    EXPECT_EQ(flags_to_string(tcp_flag::syn | tcp_flag::ack), "SYN,ACK");
    EXPECT_EQ(flags_to_string(tcp_flag::fin | tcp_flag::psh | tcp_flag::ack), "FIN,PSH,ACK");
    EXPECT_EQ(flags_to_string(tcp_flag::rst | tcp_flag::ack), "RST,ACK");
    IpAddress a{true, {}};
    a.bytes[0] = 0x20; a.bytes[1] = 0x01; a.bytes[2] = 0x0d; a.bytes[3] = 0xb8; a.bytes[15] = 1;
    EXPECT_EQ(to_string(a), "2001:db8::1");
}

}  // namespace
}  // namespace labtool::analysis
