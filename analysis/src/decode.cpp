// Link, IPv4, IPv6 and TCP decoding. Every read goes through Reader, which checks bounds;
// "truncated" (the capture kept too few bytes) and "invalid" (the headers contradict
// themselves) are different results, as in tcpdump.
#include "labtool/analysis/decode.hpp"

#include <algorithm>
#include <cstdio>

namespace labtool::analysis {
namespace {

constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_ipv6 = 0x86DD;
constexpr std::uint16_t ethertype_vlan = 0x8100;
constexpr std::uint16_t ethertype_qinq = 0x88A8;
constexpr std::size_t ethernet_header = 14;
constexpr std::size_t vlan_tag = 4;
constexpr std::size_t loopback_header = 4;
constexpr std::size_t sll_header = 16;
constexpr std::size_t sll2_header = 20;
constexpr std::size_t ipv4_min_header = 20;
constexpr std::size_t ipv6_header = 40;
constexpr std::size_t tcp_min_header = 20;
constexpr std::uint8_t ip_proto_tcp = 6;
// BSD address families seen in DLT_NULL / DLT_LOOP headers: AF_INET is 2 everywhere; AF_INET6 is
// 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS), 23 (Windows/Npcap uses 24 in practice; 23 is
// Winsock's value and appears in some files).
constexpr std::uint32_t af_inet = 2;

bool is_af_inet6(std::uint32_t af) { return af == 24 || af == 28 || af == 30 || af == 23 || af == 10; }

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::uint32_t le32(const std::uint8_t* p) {
    return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) | p[0];
}

enum class Network { ipv4, ipv6, other };

/// RFC 1071 one's-complement sum of `len` bytes, added to `sum` (not folded yet).
std::uint64_t ones_sum(const std::uint8_t* p, std::size_t len, std::uint64_t sum) {
    std::size_t i = 0;
    for (; i + 4 <= len; i += 4) sum += be32(p + i);
    for (; i + 2 <= len; i += 2) sum += be16(p + i);
    if (i < len) sum += static_cast<std::uint64_t>(p[i]) << 8;
    return sum;
}

std::uint16_t fold(std::uint64_t sum) {
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

/// The TCP checksum as captured: valid; zero or only the pseudo-header sum (offload: filled in
/// after the capture point); invalid; or unverified when the capture kept only part of it.
ChecksumStatus tcp_checksum_status(std::uint64_t pseudo, const std::uint8_t* tcp, std::size_t len, bool whole) {
    if (!whole) return ChecksumStatus::unverified;
    const std::uint16_t field = be16(tcp + 16);
    if (fold(ones_sum(tcp, len, pseudo)) == 0xFFFF) return ChecksumStatus::valid;
    const std::uint16_t partial = fold(pseudo);
    if (field == 0 || field == partial || field == static_cast<std::uint16_t>(~partial)) return ChecksumStatus::not_computed;
    return ChecksumStatus::invalid;
}

struct Link {
    DecodeStatus status = DecodeStatus::ok;
    Network network = Network::other;
    std::size_t offset = 0;
};

Network from_ethertype(std::uint16_t type) {
    if (type == ethertype_ipv4) return Network::ipv4;
    if (type == ethertype_ipv6) return Network::ipv6;
    return Network::other;
}

Network from_version_nibble(std::uint8_t first) {
    switch (first >> 4) {
        case 4: return Network::ipv4;
        case 6: return Network::ipv6;
        default: return Network::other;
    }
}

Link decode_link(const Frame& frame) {
    const auto bytes = frame.bytes;
    const std::size_t n = bytes.size();
    Link link;
    switch (frame.link) {
        case LinkType::ethernet: {
            if (n < ethernet_header) return {DecodeStatus::truncated};
            std::size_t off = 12;
            std::uint16_t type = be16(&bytes[off]);
            off += 2;
            while (type == ethertype_vlan || type == ethertype_qinq) {
                if (n < off + vlan_tag) return {DecodeStatus::truncated};
                type = be16(&bytes[off + 2]);
                off += vlan_tag;
            }
            link.network = from_ethertype(type);
            link.offset = off;
            break;
        }
        case LinkType::null:
        case LinkType::loop: {
            if (n < loopback_header) return {DecodeStatus::truncated};
            // The family is in the writer's byte order (NULL) or network order (LOOP); files
            // move between machines, so accept either order.
            const std::uint32_t a = le32(&bytes[0]);
            const std::uint32_t b = be32(&bytes[0]);
            if (a == af_inet || b == af_inet) link.network = Network::ipv4;
            else if (is_af_inet6(a) || is_af_inet6(b)) link.network = Network::ipv6;
            link.offset = loopback_header;
            break;
        }
        case LinkType::raw:
            if (n < 1) return {DecodeStatus::truncated};
            link.network = from_version_nibble(bytes[0]);
            link.offset = 0;
            break;
        case LinkType::ipv4:
            link.network = Network::ipv4;
            break;
        case LinkType::ipv6:
            link.network = Network::ipv6;
            break;
        case LinkType::linux_sll:
            if (n < sll_header) return {DecodeStatus::truncated};
            link.network = from_ethertype(be16(&bytes[14]));
            link.offset = sll_header;
            break;
        case LinkType::linux_sll2:
            if (n < sll2_header) return {DecodeStatus::truncated};
            link.network = from_ethertype(be16(&bytes[0]));
            link.offset = sll2_header;
            break;
        default:
            return {DecodeStatus::unsupported_link};
    }
    if (link.network == Network::other) link.status = DecodeStatus::not_ip;
    return link;
}

void parse_options(const std::uint8_t* p, std::size_t len, TcpOptions& out) {
    // RFC 9293 §3.2: kind 0 ends the list, kind 1 is one byte, all others carry a length.
    std::size_t i = 0;
    while (i < len) {
        const std::uint8_t kind = p[i];
        if (kind == 0) break;
        if (kind == 1) { ++i; continue; }
        if (i + 1 >= len) { out.malformed = true; break; }
        const std::uint8_t olen = p[i + 1];
        if (olen < 2 || i + olen > len) { out.malformed = true; break; }
        const std::uint8_t* v = p + i + 2;
        switch (kind) {
            case 2: if (olen == 4) out.mss = be16(v); break;
            case 3: if (olen == 3) out.wscale = v[0]; break;
            case 4: if (olen == 2) out.sack_permitted = true; break;
            case 5: {
                std::size_t n = std::min<std::size_t>((olen - 2) / 8, out.sack.size());
                for (std::size_t b = 0; b < n; ++b) out.sack[b] = {be32(v + 8 * b), be32(v + 8 * b + 4)};
                out.sack_blocks = static_cast<std::uint8_t>(n);
                break;
            }
            case 8:
                if (olen == 10) { out.ts_val = be32(v); out.ts_ecr = be32(v + 4); }
                break;
            default: break;
        }
        i += olen;
    }
}

}  // namespace

bool link_type_from_dlt(int dlt, LinkType& out) noexcept {
    switch (dlt) {
        case 0: out = LinkType::null; return true;
        case 1: out = LinkType::ethernet; return true;
        case 12:  // DLT_RAW on most systems (Linux, macOS)
        case 14:  // DLT_RAW on OpenBSD
        case 101: out = LinkType::raw; return true;
        case 108: out = LinkType::loop; return true;
        case 113: out = LinkType::linux_sll; return true;
        case 228: out = LinkType::ipv4; return true;
        case 229: out = LinkType::ipv6; return true;
        case 276: out = LinkType::linux_sll2; return true;
        default: return false;
    }
}

std::string to_string(const IpAddress& address) {
    char buf[64];
    if (!address.v6) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", address.bytes[0], address.bytes[1],
                      address.bytes[2], address.bytes[3]);
        return buf;
    }
    // RFC 5952: lowercase hex, leading zeros dropped, the longest run (>= 2) of zero groups as ::.
    std::uint16_t g[8];
    for (int i = 0; i < 8; ++i) g[i] = be16(&address.bytes[static_cast<std::size_t>(i) * 2]);
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) { ++i; continue; }
        int j = i;
        while (j < 8 && g[j] == 0) ++j;
        if (j - i > best_len && j - i >= 2) { best = i; best_len = j - i; }
        i = j;
    }
    std::string s;
    for (int i = 0; i < 8; ++i) {
        if (i == best) {
            s += "::";
            i += best_len - 1;
            continue;
        }
        if (!s.empty() && s.back() != ':') s += ':';
        std::snprintf(buf, sizeof buf, "%x", g[i]);
        s += buf;
    }
    return s;
}

std::string flags_to_string(std::uint8_t flags) {
    static constexpr struct { std::uint8_t bit; const char* name; } order[] = {
        {tcp_flag::syn, "SYN"}, {tcp_flag::fin, "FIN"}, {tcp_flag::rst, "RST"},
        {tcp_flag::psh, "PSH"}, {tcp_flag::ack, "ACK"}, {tcp_flag::urg, "URG"},
        {tcp_flag::ece, "ECE"}, {tcp_flag::cwr, "CWR"},
    };
    std::string s;
    for (const auto& f : order) {
        if ((flags & f.bit) == 0) continue;
        if (!s.empty()) s += ',';
        s += f.name;
    }
    return s.empty() ? std::string("none") : s;
}

LinkLayer decode_link_layer(const Frame& frame) noexcept {
    const Link link = decode_link(frame);
    LinkLayer out;
    out.status = link.status;
    out.offset = link.offset;
    out.ip_version = link.network == Network::ipv4 ? 4 : link.network == Network::ipv6 ? 6 : 0;
    return out;
}

DecodeStatus decode(const Frame& frame, TcpSegment& out) noexcept {
    const Link link = decode_link(frame);
    if (link.status != DecodeStatus::ok) return link.status;
    const std::uint8_t* base = frame.bytes.data();
    const std::size_t n = frame.bytes.size();
    std::size_t off = link.offset;

    std::size_t l4_captured = 0;   // bytes of the IP payload present in the capture
    std::size_t l4_declared = 0;   // bytes of the IP payload according to the IP header
    std::uint64_t pseudo = 0;      // the TCP pseudo-header's sum, without the length
    bool length_known = true;      // false: the IPv4 total length was 0 (TSO), so unverifiable
    out.ip_checksum = ChecksumStatus::valid;
    if (link.network == Network::ipv4) {
        if (n < off + ipv4_min_header) return DecodeStatus::truncated;
        const std::uint8_t* ip = base + off;
        if ((ip[0] >> 4) != 4) return DecodeStatus::invalid;
        const std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0F) * 4;
        const std::size_t total = be16(ip + 2);
        if (ihl < ipv4_min_header || total < ihl) return DecodeStatus::invalid;
        if (n < off + ihl) return DecodeStatus::truncated;
        const std::uint16_t frag = be16(ip + 6);
        const bool more_fragments = (frag & 0x2000) != 0;
        const std::uint16_t frag_offset = frag & 0x1FFF;
        if (ip[9] != ip_proto_tcp) return DecodeStatus::not_tcp;
        if (frag_offset != 0 || more_fragments) return DecodeStatus::not_tcp;  // fragments: not reassembled
        out.src = IpAddress{};
        out.dst = IpAddress{};
        for (int i = 0; i < 4; ++i) {
            out.src.bytes[static_cast<std::size_t>(i)] = ip[12 + i];
            out.dst.bytes[static_cast<std::size_t>(i)] = ip[16 + i];
        }
        off += ihl;
        l4_declared = total - ihl;
        // Some stacks (TSO on the capturing host) write total length 0; trust the capture then.
        if (total == 0) {
            l4_declared = n - off;
            length_known = false;
        }
        l4_captured = n - off < l4_declared ? n - off : l4_declared;
        if (be16(ip + 10) == 0) out.ip_checksum = ChecksumStatus::not_computed;
        else if (fold(ones_sum(ip, ihl, 0)) != 0xFFFF) out.ip_checksum = ChecksumStatus::invalid;
        pseudo = ones_sum(ip + 12, 8, ip_proto_tcp);
    } else {
        if (n < off + ipv6_header) return DecodeStatus::truncated;
        const std::uint8_t* ip = base + off;
        if ((ip[0] >> 4) != 6) return DecodeStatus::invalid;
        std::size_t payload = be16(ip + 4);
        std::uint8_t next = ip[6];
        out.src = IpAddress{true, {}};
        out.dst = IpAddress{true, {}};
        for (std::size_t i = 0; i < 16; ++i) {
            out.src.bytes[i] = ip[8 + i];
            out.dst.bytes[i] = ip[24 + i];
        }
        off += ipv6_header;
        // Walk extension headers (RFC 8200 §4): hop-by-hop, routing, destination options; a
        // fragment header means the segment is not whole here.
        for (int guard = 0; guard < 8 && next != ip_proto_tcp; ++guard) {
            if (next == 0 || next == 43 || next == 60) {
                if (n < off + 2) return DecodeStatus::truncated;
                const std::size_t len = (static_cast<std::size_t>(base[off + 1]) + 1) * 8;
                if (payload < len) return DecodeStatus::invalid;
                next = base[off];
                off += len;
                payload -= len;
                if (n < off) return DecodeStatus::truncated;
            } else {
                return DecodeStatus::not_tcp;
            }
        }
        if (next != ip_proto_tcp) return DecodeStatus::not_tcp;
        l4_declared = payload;
        pseudo = ones_sum(ip + 8, 32, ip_proto_tcp);
        l4_captured = n - off < l4_declared ? n - off : l4_declared;
    }

    if (l4_declared < tcp_min_header) return DecodeStatus::invalid;
    if (l4_captured < tcp_min_header) return DecodeStatus::truncated;
    const std::uint8_t* tcp = base + off;
    const std::size_t data_offset = static_cast<std::size_t>(tcp[12] >> 4) * 4;
    if (data_offset < tcp_min_header || data_offset > l4_declared) return DecodeStatus::invalid;
    if (l4_captured < data_offset) return DecodeStatus::truncated;
    out.src_port = be16(tcp);
    out.dst_port = be16(tcp + 2);
    out.seq = be32(tcp + 4);
    out.ack = be32(tcp + 8);
    out.flags = tcp[13];
    out.window = be16(tcp + 14);
    out.options = TcpOptions{};
    parse_options(tcp + tcp_min_header, data_offset - tcp_min_header, out.options);
    out.payload_len = static_cast<std::uint32_t>(l4_declared - data_offset);
    out.payload = std::span<const std::uint8_t>(tcp + data_offset, l4_captured - data_offset);
    out.option_bytes = static_cast<std::uint8_t>(data_offset - tcp_min_header);
    out.tcp_checksum = tcp_checksum_status(pseudo + l4_declared, tcp, l4_captured,
                                           length_known && l4_captured == l4_declared);
    return DecodeStatus::ok;
}

}  // namespace labtool::analysis
