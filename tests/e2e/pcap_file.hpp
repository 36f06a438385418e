// A tiny classic-pcap reader/writer for the tests: enough to rewrite labtool's own recordings into
// other link types (DLT_NULL, LINUX_SLL2, IPv6) while keeping timestamps and frame order exactly.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace e2e {

struct PcapRecord {
    std::uint32_t ts_sec = 0;
    std::uint32_t ts_frac = 0;   // micro- or nanoseconds, as in the file
    std::uint32_t orig_len = 0;
    std::vector<std::uint8_t> data;
};

struct PcapFile {
    std::uint32_t magic = 0;      // native byte order: a1b2c3d4 (us) or a1b23c4d (ns)
    std::uint16_t version_major = 2;
    std::uint16_t version_minor = 4;
    std::uint32_t snaplen = 262144;
    std::uint32_t link_type = 1;
    std::vector<PcapRecord> records;
};

constexpr std::uint32_t dlt_null = 0;
constexpr std::uint32_t dlt_en10mb = 1;
constexpr std::uint32_t dlt_loop = 108;
constexpr std::uint32_t dlt_linux_sll2 = 276;

namespace detail {
inline std::uint32_t get32(const std::uint8_t* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline std::uint16_t get16(const std::uint8_t* p) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
inline void put32(std::string& s, std::uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
inline void put16(std::string& s, std::uint16_t v) { s.append(reinterpret_cast<const char*>(&v), 2); }
}  // namespace detail

// Reads a native-byte-order classic pcap (what labtool records on this machine). Throws on
// anything else or on a cut-off record.
inline PcapFile read_pcap(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (b.size() < 24) throw std::runtime_error(path.string() + ": shorter than a pcap header");
    PcapFile f;
    f.magic = detail::get32(&b[0]);
    if (f.magic != 0xa1b2c3d4u && f.magic != 0xa1b23c4du)
        throw std::runtime_error(path.string() + ": not a native-order classic pcap");
    f.version_major = detail::get16(&b[4]);
    f.version_minor = detail::get16(&b[6]);
    f.snaplen = detail::get32(&b[16]);
    f.link_type = detail::get32(&b[20]);
    std::size_t off = 24;
    while (off < b.size()) {
        if (b.size() - off < 16) throw std::runtime_error(path.string() + ": cut-off record header");
        PcapRecord r;
        r.ts_sec = detail::get32(&b[off]);
        r.ts_frac = detail::get32(&b[off + 4]);
        const std::uint32_t caplen = detail::get32(&b[off + 8]);
        r.orig_len = detail::get32(&b[off + 12]);
        off += 16;
        if (b.size() - off < caplen) throw std::runtime_error(path.string() + ": cut-off record");
        r.data.assign(b.begin() + static_cast<std::ptrdiff_t>(off), b.begin() + static_cast<std::ptrdiff_t>(off + caplen));
        off += caplen;
        f.records.push_back(std::move(r));
    }
    return f;
}

inline void write_pcap(const std::filesystem::path& path, const PcapFile& f) {
    std::string s;
    detail::put32(s, f.magic);
    detail::put16(s, f.version_major);
    detail::put16(s, f.version_minor);
    detail::put32(s, 0);   // thiszone
    detail::put32(s, 0);   // sigfigs
    detail::put32(s, f.snaplen);
    detail::put32(s, f.link_type);
    for (const auto& r : f.records) {
        detail::put32(s, r.ts_sec);
        detail::put32(s, r.ts_frac);
        detail::put32(s, static_cast<std::uint32_t>(r.data.size()));
        detail::put32(s, r.orig_len);
        s.append(reinterpret_cast<const char*>(r.data.data()), r.data.size());
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(s.data(), static_cast<std::streamsize>(s.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

constexpr std::size_t ethernet_header_bytes = 14;

// Replaces each record's Ethernet header by `new_header`; orig_len follows the size change.
inline PcapFile replace_ethernet(const PcapFile& in, std::uint32_t link_type,
                                 const std::vector<std::uint8_t>& new_header) {
    PcapFile out = in;
    out.link_type = link_type;
    for (auto& r : out.records) {
        if (r.data.size() < ethernet_header_bytes) throw std::runtime_error("record shorter than Ethernet");
        std::vector<std::uint8_t> d(new_header);
        d.insert(d.end(), r.data.begin() + ethernet_header_bytes, r.data.end());
        r.orig_len = static_cast<std::uint32_t>(r.orig_len - ethernet_header_bytes + new_header.size());
        r.data = std::move(d);
    }
    return out;
}

// DLT_NULL: 4-byte address family in host (here: little-endian) byte order.
inline std::vector<std::uint8_t> null_header(std::uint32_t family) {
    return {static_cast<std::uint8_t>(family), static_cast<std::uint8_t>(family >> 8),
            static_cast<std::uint8_t>(family >> 16), static_cast<std::uint8_t>(family >> 24)};
}

// LINUX_SLL2: protocol (BE) at 0, reserved, ifindex, ARPHRD, packet type, addr len, 8-byte addr.
inline std::vector<std::uint8_t> sll2_header_ipv4() {
    std::vector<std::uint8_t> h(20, 0);
    h[0] = 0x08;
    h[1] = 0x00;
    h[7] = 1;         // interface index 1 (lo)
    h[8] = 0x03;      // ARPHRD_LOOPBACK = 772
    h[9] = 0x04;
    h[10] = 0;        // PACKET_HOST
    h[11] = 6;        // address length
    return h;
}

// Ethernet+IPv4 → DLT_NULL with address family `af6` + IPv6 (src/dst ::1), TCP bytes unchanged.
inline PcapFile ethernet_ipv4_to_null_ipv6(const PcapFile& in, std::uint32_t af6) {
    PcapFile out = in;
    out.link_type = dlt_null;
    for (auto& r : out.records) {
        const auto& d = r.data;
        if (d.size() < ethernet_header_bytes + 20 || (d[ethernet_header_bytes] >> 4) != 4)
            throw std::runtime_error("record is not Ethernet+IPv4");
        const std::size_t ip = ethernet_header_bytes;
        const std::size_t ihl = static_cast<std::size_t>(d[ip] & 0x0f) * 4;
        const std::size_t total = (static_cast<std::size_t>(d[ip + 2]) << 8) | d[ip + 3];
        if (d[ip + 9] != 6) throw std::runtime_error("record is not TCP");
        const std::size_t payload = total - ihl;   // TCP header + data
        std::vector<std::uint8_t> n = null_header(af6);
        n.push_back(0x60);
        n.push_back(0);
        n.push_back(0);
        n.push_back(0);
        n.push_back(static_cast<std::uint8_t>(payload >> 8));
        n.push_back(static_cast<std::uint8_t>(payload & 0xff));
        n.push_back(6);    // next header: TCP
        n.push_back(64);   // hop limit
        for (int addr = 0; addr < 2; ++addr) {
            for (int i = 0; i < 15; ++i) n.push_back(0);
            n.push_back(1);   // ::1
        }
        const std::size_t tcp = ip + ihl;
        n.insert(n.end(), d.begin() + static_cast<std::ptrdiff_t>(tcp), d.end());
        r.orig_len = static_cast<std::uint32_t>(4 + 40 + payload);
        r.data = std::move(n);
    }
    return out;
}

}  // namespace e2e
