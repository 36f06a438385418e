// Builds TCP/IP packets in code for the analysis tests, under any link type.
#pragma once

#include "labtool/analysis/frame.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace labtool::test {

struct TcpSpec {
    bool v6 = false;
    std::uint8_t src_last = 1;        // 127.0.0.<src_last> or ::<src_last>
    std::uint8_t dst_last = 1;
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = 0;
    std::uint16_t window = 65535;
    std::vector<std::uint8_t> options;   // raw TCP option bytes (padded to 4 by the builder)
    std::string payload;
};

inline void put16(std::vector<std::uint8_t>& v, std::size_t at, std::uint16_t x) {
    v[at] = static_cast<std::uint8_t>(x >> 8);
    v[at + 1] = static_cast<std::uint8_t>(x);
}
inline void put32(std::vector<std::uint8_t>& v, std::size_t at, std::uint32_t x) {
    for (int i = 0; i < 4; ++i) v[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(x >> (24 - 8 * i));
}

/// The IP packet (IPv4 or IPv6 header + TCP header + payload).
inline std::vector<std::uint8_t> ip_packet(const TcpSpec& s) {
    std::vector<std::uint8_t> opts = s.options;
    while (opts.size() % 4) opts.push_back(1);  // NOP padding
    const std::size_t tcp_len = 20 + opts.size() + s.payload.size();
    std::vector<std::uint8_t> tcp(tcp_len, 0);
    put16(tcp, 0, s.sport);
    put16(tcp, 2, s.dport);
    put32(tcp, 4, s.seq);
    put32(tcp, 8, s.ack);
    tcp[12] = static_cast<std::uint8_t>(((20 + opts.size()) / 4) << 4);
    tcp[13] = s.flags;
    put16(tcp, 14, s.window);
    std::copy(opts.begin(), opts.end(), tcp.begin() + 20);
    std::copy(s.payload.begin(), s.payload.end(), tcp.begin() + 20 + static_cast<std::ptrdiff_t>(opts.size()));
    std::vector<std::uint8_t> ip;
    if (!s.v6) {
        ip.assign(20, 0);
        ip[0] = 0x45;
        put16(ip, 2, static_cast<std::uint16_t>(20 + tcp_len));
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = 6;
        ip[12] = 127; ip[15] = s.src_last;
        ip[16] = 127; ip[19] = s.dst_last;
    } else {
        ip.assign(40, 0);
        ip[0] = 0x60;
        put16(ip, 4, static_cast<std::uint16_t>(tcp_len));
        ip[6] = 6;
        ip[7] = 64;
        ip[23] = s.src_last;
        ip[39] = s.dst_last;
    }
    ip.insert(ip.end(), tcp.begin(), tcp.end());
    return ip;
}

/// Wraps an IP packet in the link header of `link`.
inline std::vector<std::uint8_t> with_link(analysis::LinkType link, const std::vector<std::uint8_t>& ip, bool v6) {
    std::vector<std::uint8_t> out;
    using analysis::LinkType;
    const std::uint16_t ethertype = v6 ? 0x86DD : 0x0800;
    switch (link) {
        case LinkType::ethernet:
            out.assign(14, 0);
            put16(out, 12, ethertype);
            break;
        case LinkType::null: {  // host byte order (little-endian writer here)
            const std::uint32_t af = v6 ? 30 : 2;
            out = {static_cast<std::uint8_t>(af), 0, 0, 0};
            break;
        }
        case LinkType::loop: {
            const std::uint32_t af = v6 ? 24 : 2;
            out = {0, 0, 0, static_cast<std::uint8_t>(af)};
            break;
        }
        case LinkType::linux_sll:
            out.assign(16, 0);
            put16(out, 14, ethertype);
            break;
        case LinkType::linux_sll2:
            out.assign(20, 0);
            put16(out, 0, ethertype);
            break;
        default:
            break;  // raw, ipv4, ipv6: no link header
    }
    out.insert(out.end(), ip.begin(), ip.end());
    return out;
}

/// TCP options of a typical Linux SYN: MSS, SACK permitted, timestamps, window scale.
inline std::vector<std::uint8_t> syn_options(std::uint16_t mss, std::uint8_t wscale) {
    return {2, 4, static_cast<std::uint8_t>(mss >> 8), static_cast<std::uint8_t>(mss), 4, 2,
            8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, wscale};
}

/// Builds a client↔server conversation on Ethernet/IPv4, frame by frame, keeping each side's
/// sequence numbers (SYN and FIN count one).
class ConversationBuilder {
public:
    explicit ConversationBuilder(std::uint32_t client_isn = 1055145363, std::uint32_t server_isn = 3686796847u,
                                 std::uint16_t client_port = 52126, std::uint16_t server_port = 3000,
                                 std::uint8_t wscale = 8)
        : cseq_(client_isn), sseq_(server_isn), cport_(client_port), sport_(server_port), wscale_(wscale) {}

    void send(bool from_client, std::uint8_t flags, const std::string& payload = {}) {
        TcpSpec s;
        s.sport = from_client ? cport_ : sport_;
        s.dport = from_client ? sport_ : cport_;
        s.seq = from_client ? cseq_ : sseq_;
        s.ack = (flags & 0x10) ? (from_client ? sseq_ : cseq_) : 0;
        s.flags = flags;
        s.payload = payload;
        if (flags & 0x02) s.options = syn_options(65495, wscale_);
        (from_client ? cseq_ : sseq_) += static_cast<std::uint32_t>(payload.size()) + ((flags & 0x03) ? 1u : 0u);
        frames.push_back(with_link(analysis::LinkType::ethernet, ip_packet(s), false));
    }

    std::vector<std::vector<std::uint8_t>> frames;

private:
    std::uint32_t cseq_;
    std::uint32_t sseq_;
    std::uint16_t cport_;
    std::uint16_t sport_;
    std::uint8_t wscale_;
};

}  // namespace labtool::test
