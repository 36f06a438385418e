// -v / -x: Wireshark-style details of a SYN built in the test.
#include "packet_builder.hpp"
#include "packet_details.hpp"

#include <gtest/gtest.h>

namespace labtool::cli {
namespace {

TEST(PacketDetails, SynLayersFlagsOptionsAndHex) {
    test::TcpSpec s;
    s.sport = 52126;
    s.dport = 3000;
    s.seq = 1055145363;
    s.flags = analysis::tcp_flag::syn;
    s.options = test::syn_options(65495, 8);
    const auto bytes = test::with_link(analysis::LinkType::ethernet, test::ip_packet(s), false);
    const analysis::Frame f{analysis::LinkType::ethernet, {}, static_cast<std::uint32_t>(bytes.size()), bytes};
    const auto lines = packet_details(1, 0.0, f, nullptr);
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    EXPECT_NE(all.find("Frame 1: 74 bytes on wire"), std::string::npos) << all;
    EXPECT_NE(all.find("Ethernet II"), std::string::npos) << all;
    EXPECT_NE(all.find("Internet Protocol Version 4, Src: 127.0.0.1, Dst: 127.0.0.1"), std::string::npos) << all;
    EXPECT_NE(all.find("Src Port: 52126, Dst Port: 3000, Seq (raw): 1055145363"), std::string::npos) << all;
    EXPECT_NE(all.find("Syn: Set"), std::string::npos) << all;
    EXPECT_NE(all.find("Acknowledgment: Not set"), std::string::npos) << all;
    EXPECT_NE(all.find("MSS 65495"), std::string::npos) << all;
    EXPECT_NE(all.find("Window scale 8 (multiply by 256)"), std::string::npos) << all;
    const auto hex = hex_dump(bytes);
    ASSERT_EQ(hex.size(), 5u);   // 74 bytes
    EXPECT_EQ(hex[0].substr(0, 6), "0000  ");
    EXPECT_NE(hex[0].find("08 00 45 00"), std::string::npos) << hex[0];
    // Truncated at every length: never reads past the bytes.
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        const analysis::Frame cut{analysis::LinkType::ethernet, {}, 74, std::span<const std::uint8_t>(bytes.data(), n)};
        EXPECT_FALSE(packet_details(1, 0.0, cut, nullptr).empty());
    }
}

}  // namespace
}  // namespace labtool::cli
