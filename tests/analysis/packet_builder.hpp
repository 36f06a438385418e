// Builds TCP/IP packets in code for the analysis tests, under any link type.
#pragma once

#include "labtool/analysis/frame.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace labtool::test {

/// What goes into the TCP checksum field.
enum class Checksum {
    zero,     // 0 (the default, as the older tests expect)
    valid,    // the real RFC 1071 checksum over pseudo-header + segment
    offload,  // only the folded, not complemented, pseudo-header sum: what Linux leaves for the NIC
              // (CHECKSUM_PARTIAL: th->check = ~csum_tcpudp_magic(...)), as seen in loopback captures
};

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
    // Defaults below keep the bytes of the older tests.
    Checksum tcp_checksum = Checksum::zero;
    bool ipv4_checksum = false;          // false: IPv4 header checksum 0; true: the real one
    std::uint16_t ip_id = 0;             // IPv4 identification
    std::uint8_t ttl = 64;               // IPv4 TTL / IPv6 hop limit
    // The 12-byte timestamp option (NOP, NOP, kind 8 len 10, tsval, tsecr), put before `options`.
    // Meant for non-SYN segments (SYN options carry their own timestamp, see syn_options).
    bool timestamps = false;
    std::uint32_t tsval = 0;
    std::uint32_t tsecr = 0;
};

inline void put16(std::vector<std::uint8_t>& v, std::size_t at, std::uint16_t x) {
    v[at] = static_cast<std::uint8_t>(x >> 8);
    v[at + 1] = static_cast<std::uint8_t>(x);
}
inline void put32(std::vector<std::uint8_t>& v, std::size_t at, std::uint32_t x) {
    for (int i = 0; i < 4; ++i) v[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(x >> (24 - 8 * i));
}

/// The NOP, NOP, timestamp option block of a non-SYN segment (12 bytes).
inline std::vector<std::uint8_t> timestamp_option(std::uint32_t tsval, std::uint32_t tsecr) {
    std::vector<std::uint8_t> o = {1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0};
    put32(o, 4, tsval);
    put32(o, 8, tsecr);
    return o;
}

/// RFC 1071: adds big-endian 16-bit words of `bytes` to `sum` (an odd last byte is padded with 0).
inline std::uint32_t ones_sum(const std::uint8_t* bytes, std::size_t n, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2) sum += static_cast<std::uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    if (n % 2) sum += static_cast<std::uint32_t>(bytes[n - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}
inline std::uint16_t fold(std::uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

/// The ones'-complement sum (folded, not inverted) of the TCP pseudo-header for `ip` (an IPv4 or
/// IPv6 header without extension headers) and a TCP segment of `tcp_len` bytes.
inline std::uint16_t pseudo_header_sum(const std::vector<std::uint8_t>& ip, bool v6, std::size_t tcp_len) {
    std::uint32_t sum = 0;
    if (!v6) {
        sum = ones_sum(&ip[12], 8);                              // source + destination
        sum += 6;                                                 // zero, protocol
        sum += static_cast<std::uint32_t>(tcp_len);               // TCP length (< 65536)
    } else {
        sum = ones_sum(&ip[8], 32);
        sum += static_cast<std::uint32_t>(tcp_len >> 16) + static_cast<std::uint32_t>(tcp_len & 0xffff);
        sum += 6;                                                 // next header
    }
    return fold(sum);
}

/// The IP packet (IPv4 or IPv6 header + TCP header + payload).
inline std::vector<std::uint8_t> ip_packet(const TcpSpec& s) {
    std::vector<std::uint8_t> opts;
    if (s.timestamps) opts = timestamp_option(s.tsval, s.tsecr);
    opts.insert(opts.end(), s.options.begin(), s.options.end());
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
        put16(ip, 4, s.ip_id);
        ip[6] = 0x40;
        ip[8] = s.ttl;
        ip[9] = 6;
        ip[12] = 127; ip[15] = s.src_last;
        ip[16] = 127; ip[19] = s.dst_last;
        if (s.ipv4_checksum) put16(ip, 10, static_cast<std::uint16_t>(~ones_sum(ip.data(), 20)));
    } else {
        ip.assign(40, 0);
        ip[0] = 0x60;
        put16(ip, 4, static_cast<std::uint16_t>(tcp_len));
        ip[6] = 6;
        ip[7] = s.ttl;
        ip[23] = s.src_last;
        ip[39] = s.dst_last;
    }
    if (s.tcp_checksum != Checksum::zero) {
        const std::uint16_t pseudo = pseudo_header_sum(ip, s.v6, tcp_len);
        if (s.tcp_checksum == Checksum::offload) {
            put16(tcp, 16, pseudo);
        } else {
            put16(tcp, 16, static_cast<std::uint16_t>(~fold(ones_sum(tcp.data(), tcp.size(), pseudo))));
        }
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
