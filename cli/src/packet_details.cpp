// -v: every packet in Wireshark's detail style (Frame, link layer, IPv4/IPv6, TCP with each flag
// bit and option, HTTP first line); -x adds the bytes as hex and ASCII. Field names are
// Wireshark's, so a student can match them line by line.
#include "packet_details.hpp"

#include "explain.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace labtool::cli {
namespace {

namespace a = labtool::analysis;

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::string mac(const std::uint8_t* p) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", p[0], p[1], p[2], p[3], p[4], p[5]);
}

/// Wireshark's words for a checksum's status (with validation on).
std::string checksum_note(a::ChecksumStatus c) {
    switch (c) {
        case a::ChecksumStatus::valid: return " [correct]";
        case a::ChecksumStatus::invalid: return " [incorrect]";
        case a::ChecksumStatus::not_computed: return " [unverified: not computed, checksum offload]";
        case a::ChecksumStatus::unverified: return " [unverified: packet cut by the snaplen]";
    }
    return "";
}

std::string bit(const char* name, std::uint8_t flags, std::uint8_t mask) {
    return fmt::format("{} {}", name, (flags & mask) ? "Set" : "Not set");
}

}  // namespace

std::vector<std::string> packet_details(std::uint64_t number, double time, const a::Frame& f, const a::PacketInfo* info) {
    std::vector<std::string> out;
    const auto& b = f.bytes;
    const std::size_t n = b.size();
    out.push_back(fmt::format("Frame {}: {} bytes on wire, {} bytes captured, arrival +{:.6f} s", number,
                              std::max<std::size_t>(f.wire_len, n), n, time));
    std::size_t off = 0;
    std::uint16_t ethertype = 0;
    switch (f.link) {
        case a::LinkType::ethernet:
            if (n < 14) return out;
            ethertype = be16(&b[12]);
            out.push_back(fmt::format("Ethernet II, Src: {}, Dst: {}, Type: 0x{:04x}", mac(&b[6]), mac(&b[0]), ethertype));
            off = 14;
            break;
        case a::LinkType::null:
        case a::LinkType::loop: {
            if (n < 4) return out;
            // The family is in the writer's byte order (NULL) or network order (LOOP).
            const std::uint32_t le = b[0] | (b[1] << 8) | (std::uint32_t{b[2]} << 16) | (std::uint32_t{b[3]} << 24);
            const std::uint32_t family = f.link == a::LinkType::loop ? be32(&b[0]) : le;
            const int version = a::decode_link_layer(f).ip_version;
            out.push_back(fmt::format("Null/Loopback, Family: {} ({})", family,
                                      version == 4 ? "IP" : version == 6 ? "IPv6" : "unknown"));
            ethertype = version == 4 ? 0x0800 : version == 6 ? 0x86DD : 0;
            off = 4;
            break;
        }
        case a::LinkType::linux_sll:
            if (n < 16) return out;
            ethertype = be16(&b[14]);
            out.push_back(fmt::format("Linux cooked capture v1, Packet type: {}, Protocol: 0x{:04x}", be16(&b[0]), ethertype));
            off = 16;
            break;
        case a::LinkType::linux_sll2:
            if (n < 20) return out;
            ethertype = be16(&b[0]);
            out.push_back(fmt::format("Linux cooked capture v2, Protocol: 0x{:04x}, Interface index: {}", ethertype, be32(&b[4])));
            off = 20;
            break;
        default:
            if (n < 1) return out;
            ethertype = (b[0] >> 4) == 6 ? 0x86DD : 0x0800;
            out.push_back("Raw packet data");
            break;
    }
    std::uint8_t proto = 0;
    if (ethertype == 0x0800 && n >= off + 20) {
        const std::uint8_t* ip = &b[off];
        const std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0F) * 4;
        const std::uint16_t frag = be16(ip + 6);
        out.push_back(fmt::format("Internet Protocol Version 4, Src: {}.{}.{}.{}, Dst: {}.{}.{}.{}", ip[12], ip[13], ip[14],
                                  ip[15], ip[16], ip[17], ip[18], ip[19]));
        out.push_back(fmt::format("    Version: 4, Header Length: {} bytes, DSCP: {}, ECN: {}, Total Length: {}", ihl,
                                  ip[1] >> 2, ip[1] & 3, be16(ip + 2)));
        out.push_back(fmt::format("    Identification: 0x{:04x}, Flags: {}{}, Fragment Offset: {}, Time to Live: {}",
                                  be16(ip + 4), (frag & 0x4000) ? "Don't fragment" : "-",
                                  (frag & 0x2000) ? ", More fragments" : "", (frag & 0x1FFF) * 8, ip[8]));
        out.push_back(fmt::format("    Protocol: {} ({}), Header Checksum: 0x{:04x}{}", ip[9] == 6 ? "TCP" : "other", ip[9],
                                  be16(ip + 10), info ? checksum_note(info->ip_checksum) : std::string()));
        proto = ip[9];
        off += ihl;
    } else if (ethertype == 0x86DD && n >= off + 40) {
        const std::uint8_t* ip = &b[off];
        a::IpAddress src{true, {}}, dst{true, {}};
        std::copy(ip + 8, ip + 24, src.bytes.begin());
        std::copy(ip + 24, ip + 40, dst.bytes.begin());
        out.push_back(fmt::format("Internet Protocol Version 6, Src: {}, Dst: {}", a::to_string(src), a::to_string(dst)));
        out.push_back(fmt::format("    Version: 6, Traffic Class: 0x{:02x}, Flow Label: 0x{:05x}, Payload Length: {}, "
                                  "Next Header: {}, Hop Limit: {}",
                                  ((ip[0] & 0x0F) << 4) | (ip[1] >> 4), be32(ip) & 0xFFFFF, be16(ip + 4), ip[6], ip[7]));
        proto = ip[6];
        off += 40;
    } else {
        return out;
    }
    if (proto != 6 || n < off + 20) return out;
    const std::uint8_t* t = &b[off];
    const std::size_t hlen = static_cast<std::size_t>(t[12] >> 4) * 4;
    const std::uint8_t flags = t[13];
    if (info) {
        out.push_back(fmt::format("Transmission Control Protocol, Src Port: {}, Dst Port: {}, Seq: {}, Ack: {}, Len: {}",
                                  be16(t), be16(t + 2), info->seq_rel, info->ack_rel, info->len));
        out.push_back(fmt::format("    Sequence Number: {} (relative), raw {}; Next Sequence Number: {} (relative)",
                                  info->seq_rel, be32(t + 4), info->next_seq_rel));
        out.push_back(fmt::format("    Acknowledgment Number: {} (relative), raw {}", info->ack_rel, be32(t + 8)));
    } else {
        out.push_back(fmt::format("Transmission Control Protocol, Src Port: {}, Dst Port: {}, Seq (raw): {}, Ack (raw): {}",
                                  be16(t), be16(t + 2), be32(t + 4), be32(t + 8)));
    }
    out.push_back(fmt::format("    Header Length: {} bytes ({}), Flags: 0x{:03x} ({})", hlen, hlen / 4,
                              ((t[12] & 0x01) << 8) | flags, a::flags_to_string(flags)));
    out.push_back("        " + bit("Congestion Window Reduced:", flags, 0x80) + ", " + bit("ECN-Echo:", flags, 0x40) +
                  ", " + bit("Urgent:", flags, 0x20));
    out.push_back("        " + bit("Acknowledgment:", flags, 0x10) + ", " + bit("Push:", flags, 0x08) + ", " +
                  bit("Reset:", flags, 0x04) + ", " + bit("Syn:", flags, 0x02) + ", " + bit("Fin:", flags, 0x01));
    std::string window = fmt::format("    Window: {}", be16(t + 14));
    if (info && info->analysis.window_scale > 0)
        window += fmt::format(", Calculated window size: {} (× {})", info->analysis.window, info->analysis.window_scale);
    window += fmt::format(", Checksum: 0x{:04x}{}, Urgent Pointer: {}", be16(t + 16),
                          info ? checksum_note(info->tcp_checksum) : std::string(), be16(t + 18));
    out.push_back(window);
    if (hlen > 20 && n >= off + hlen) {
        std::string opts = "    Options:";
        std::size_t i = 20;
        while (i < hlen) {
            const std::uint8_t kind = t[i];
            if (kind == 0) { opts += " EOL"; break; }
            if (kind == 1) { opts += " NOP,"; ++i; continue; }
            if (i + 1 >= hlen) break;
            const std::uint8_t len = t[i + 1];
            if (len < 2 || i + len > hlen) break;
            const std::uint8_t* v = t + i + 2;
            switch (kind) {
                case 2: if (len == 4) opts += fmt::format(" MSS {},", be16(v)); break;
                case 3: if (len == 3) opts += fmt::format(" Window scale {} (multiply by {}),", v[0], 1u << std::min<unsigned>(v[0], 14)); break;
                case 4: opts += " SACK permitted,"; break;
                case 5:
                    opts += " SACK";
                    for (std::size_t k = 0; k + 8 <= static_cast<std::size_t>(len - 2); k += 8)
                        opts += fmt::format(" {}-{}", be32(v + k), be32(v + k + 4));
                    opts += ",";
                    break;
                case 8: if (len == 10) opts += fmt::format(" Timestamps TSval {} TSecr {},", be32(v), be32(v + 4)); break;
                default: opts += fmt::format(" kind {} ({} bytes),", kind, len); break;
            }
            i += len;
        }
        if (opts.back() == ',') opts.pop_back();
        out.push_back(opts);
    }
    if (info && info->analysis.flags) {
        std::string s = "    [SEQ/ACK analysis:";
        for (const auto& rule : info->analysis.rules)
            s += fmt::format(" {} ({});", a::analysis_flag_name(a::analysis_flag_index(rule.flag)), rule_text(Lang::en, rule));
        out.push_back(s + "]");
    }
    const std::size_t payload_at = off + hlen;
    if (payload_at < n) {
        const std::size_t len = n - payload_at;
        out.push_back(fmt::format("    TCP payload ({} bytes captured)", len));
        // The HTTP start line, if the payload begins with one.
        const std::string_view p(reinterpret_cast<const char*>(&b[payload_at]), len);
        const auto eol = p.find("\r\n");
        if (eol != std::string_view::npos && eol < 200) {
            const auto line = p.substr(0, eol);
            const bool http = line.substr(0, 5) == "HTTP/" || line.find(" HTTP/1.") != std::string_view::npos;
            if (http) out.push_back(fmt::format("Hypertext Transfer Protocol: {}", line));
        }
    }
    return out;
}

std::vector<std::string> hex_dump(std::span<const std::uint8_t> bytes) {
    std::vector<std::string> out;
    for (std::size_t at = 0; at < bytes.size(); at += 16) {
        std::string hex, ascii;
        for (std::size_t i = 0; i < 16; ++i) {
            if (at + i < bytes.size()) {
                const auto c = bytes[at + i];
                hex += fmt::format("{:02x} ", c);
                ascii += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';
            } else {
                hex += "   ";
            }
            if (i == 7) hex += ' ';
        }
        out.push_back(fmt::format("{:04x}  {} {}", at, hex, ascii));
    }
    return out;
}

}  // namespace labtool::cli
