// labtool_make_corpus DIR [--small]: writes the hostile captures of issue 11 into DIR, generated
// (not stored): out-of-order floods, one buffer per connection, a response in 200 000 segments,
// SYN floods, short connections, pipelining, unacknowledged data, far-future and corrupted pcapng
// timestamps, two link types, bad block lengths, byte-flipped mutants and a file name that is not
// UTF-8. tests/adversarial/run.sh replays them (sanitizer build in CI); bench/memory_bench.sh
// measures time and peak RSS on them. --small: a tenth of the sizes, for a quick run.
#include "packet_builder.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using labtool::analysis::LinkType;
using labtool::test::TcpSpec;

constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;

/// Streams a classic little-endian pcap (µs), Ethernet.
class PcapOut {
public:
    explicit PcapOut(const fs::path& p) : out_(p, std::ios::binary | std::ios::trunc) {
        u32(0xa1b2c3d4u);
        u16(2);
        u16(4);
        u32(0);
        u32(0);
        u32(262144);
        u32(1);
    }
    void packet(const std::vector<std::uint8_t>& bytes) {
        ++n_;
        u32(1700000000u + static_cast<std::uint32_t>(n_ / 100000));
        u32(static_cast<std::uint32_t>((n_ % 100000) * 10));
        u32(static_cast<std::uint32_t>(bytes.size()));
        u32(static_cast<std::uint32_t>(bytes.size()));
        out_.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    void tcp(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint32_t ackn, std::uint8_t flags,
             const std::string& payload = {}, std::uint8_t src_last = 1, std::uint8_t dst_last = 1) {
        TcpSpec s;
        s.sport = sport;
        s.dport = dport;
        s.seq = seq;
        s.ack = ackn;
        s.flags = flags;
        s.payload = payload;
        s.src_last = src_last;
        s.dst_last = dst_last;
        packet(labtool::test::with_link(LinkType::ethernet, labtool::test::ip_packet(s), false));
    }
    void handshake(std::uint16_t cport, std::uint32_t cisn, std::uint32_t sisn, std::uint8_t src_last = 1) {
        tcp(cport, 3000, cisn, 0, syn, {}, src_last);
        tcp(3000, cport, sisn, cisn + 1, syn | ack, {}, 1, src_last);
        tcp(cport, 3000, cisn + 1, sisn + 1, ack, {}, src_last);
    }

private:
    void u32(std::uint32_t v) {
        char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
        out_.write(b, 4);
    }
    void u16(std::uint16_t v) {
        char b[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
        out_.write(b, 2);
    }
    std::ofstream out_;
    std::uint64_t n_ = 0;
};

/// A minimal pcapng: SHB, one IDB per link type (with if_tsresol), EPBs with raw 64-bit times.
class PcapngOut {
public:
    explicit PcapngOut(const fs::path& p) : out_(p, std::ios::binary | std::ios::trunc) {
        std::string b;
        put32(b, 0x1A2B3C4D);
        put16(b, 1);
        put16(b, 0);
        put32(b, 0xFFFFFFFF);
        put32(b, 0xFFFFFFFF);
        block(0x0A0D0D0A, b);
    }
    void interface(std::uint16_t link, std::uint8_t tsresol) {
        std::string b;
        put16(b, link);
        put16(b, 0);
        put32(b, 262144);
        put16(b, 9);   // if_tsresol
        put16(b, 1);
        b.push_back(static_cast<char>(tsresol));
        b.append(3, '\0');
        put32(b, 0);   // opt_endofopt
        block(1, b);
    }
    void packet(std::uint32_t iface, std::uint64_t ts, const std::vector<std::uint8_t>& bytes) {
        std::string b;
        put32(b, iface);
        put32(b, static_cast<std::uint32_t>(ts >> 32));
        put32(b, static_cast<std::uint32_t>(ts));
        put32(b, static_cast<std::uint32_t>(bytes.size()));
        put32(b, static_cast<std::uint32_t>(bytes.size()));
        b.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        while (b.size() % 4) b.push_back('\0');
        block(6, b);
    }
    /// A block whose length field lies (larger than the file).
    void lying_block(std::uint32_t claimed) {
        std::string b;
        put32(b, 6);
        put32(b, claimed);
        b.append(20, '\0');
        out_.write(b.data(), static_cast<std::streamsize>(b.size()));
    }

private:
    static void put32(std::string& b, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>(v >> (8 * i)));
    }
    static void put16(std::string& b, std::uint16_t v) {
        b.push_back(static_cast<char>(v));
        b.push_back(static_cast<char>(v >> 8));
    }
    void block(std::uint32_t type, const std::string& body) {
        std::string b;
        const auto len = static_cast<std::uint32_t>(body.size() + 12);
        put32(b, type);
        put32(b, len);
        b += body;
        put32(b, len);
        out_.write(b.data(), static_cast<std::streamsize>(b.size()));
    }
    std::ofstream out_;
};

std::vector<std::uint8_t> frame(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint32_t ackn,
                                std::uint8_t flags, const std::string& payload = {}) {
    TcpSpec s;
    s.sport = sport;
    s.dport = dport;
    s.seq = seq;
    s.ack = ackn;
    s.flags = flags;
    s.payload = payload;
    return labtool::test::with_link(LinkType::ethernet, labtool::test::ip_packet(s), false);
}

void small_page_pcapng(const fs::path& p, std::uint8_t tsresol, std::uint64_t t0) {
    PcapngOut o(p);
    o.interface(1, tsresol);
    const std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    std::uint64_t t = t0;
    o.packet(0, t++, frame(50000, 3000, 100, 0, syn));
    o.packet(0, t++, frame(3000, 50000, 900, 101, syn | ack));
    o.packet(0, t++, frame(50000, 3000, 101, 901, ack));
    o.packet(0, t++, frame(50000, 3000, 101, 901, psh | ack, get));
    o.packet(0, t++, frame(3000, 50000, 901, 101 + static_cast<std::uint32_t>(get.size()), psh | ack, resp));
    o.packet(0, t++, frame(50000, 3000, 101 + static_cast<std::uint32_t>(get.size()), 901 + static_cast<std::uint32_t>(resp.size()), fin | ack));
    o.packet(0, ~std::uint64_t{0}, frame(3000, 50000, 901 + static_cast<std::uint32_t>(resp.size()), 102 + static_cast<std::uint32_t>(get.size()), fin | ack));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: labtool_make_corpus DIR [--small]\n";
        return 2;
    }
    const fs::path dir = argv[1];
    const std::uint32_t scale = (argc > 2 && std::string(argv[2]) == "--small") ? 10 : 1;
    fs::create_directories(dir);

    {   // 1 M one-byte segments, each behind its own hole (a stack-depth and memory attack)
        PcapOut o(dir / "ooo_1m_tiny.pcap");
        o.handshake(40000, 1000, 5000);
        const std::uint32_t n = 1000000 / scale;
        for (std::uint32_t i = 0; i < n; ++i) o.tcp(40000, 3000, 1001 + 2 + 2 * (n - i), 5001, ack, "x");
    }
    {   // 64 connections × 4 MB out-of-order behind a one-byte hole
        PcapOut o(dir / "ooo_64x4mb.pcap");
        const std::string chunk(32768, 'd');
        for (std::uint16_t c = 0; c < 64; ++c) {
            const auto port = static_cast<std::uint16_t>(41000 + c);
            o.handshake(port, 100000000u * c, 7000);
            for (std::uint32_t k = 0; k < 128 / scale; ++k) o.tcp(port, 3000, 100000000u * c + 3 + k * 32768u, 7001, ack, chunk);
        }
    }
    {   // one response carried in 200 000 segments
        PcapOut o(dir / "response_200k_segments.pcap");
        o.handshake(42000, 1, 9000);
        const std::string get = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
        const auto cack = 2 + static_cast<std::uint32_t>(get.size());
        o.tcp(42000, 3000, 2, 9001, psh | ack, get);
        const std::uint32_t n = 200000 / scale;
        const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n * 64) + "\r\n\r\n";
        std::uint32_t seq = 9001;
        o.tcp(3000, 42000, seq, cack, ack, head);
        seq += static_cast<std::uint32_t>(head.size());
        for (std::uint32_t i = 0; i < n; ++i, seq += 64) o.tcp(3000, 42000, seq, cack, ack, std::string(64, 'b'));
    }
    {   // 100 000 SYNs from many addresses and ports
        PcapOut o(dir / "syn_flood_100k.pcap");
        for (std::uint32_t i = 0; i < 100000 / scale; ++i)
            o.tcp(static_cast<std::uint16_t>(1024 + i % 60000), 3000, i * 2654435761u, 0, syn, {}, static_cast<std::uint8_t>(2 + i % 250));
    }
    {   // 100 000 short complete connections
        PcapOut o(dir / "short_connections_100k.pcap");
        for (std::uint32_t i = 0; i < 100000 / scale; ++i) {
            const auto port = static_cast<std::uint16_t>(1024 + i % 60000);
            const auto src = static_cast<std::uint8_t>(2 + (i / 60000) % 250);
            const std::uint32_t c = i * 7919u, s = i * 104729u;
            o.tcp(port, 3000, c, 0, syn, {}, src);
            o.tcp(3000, port, s, c + 1, syn | ack, {}, 1, src);
            o.tcp(port, 3000, c + 1, s + 1, ack, {}, src);
            o.tcp(port, 3000, c + 1, s + 1, fin | ack, {}, src);
            o.tcp(3000, port, s + 1, c + 2, fin | ack, {}, 1, src);
            o.tcp(port, 3000, c + 2, s + 2, ack, {}, src);
        }
    }
    {   // 5 000 pipelined requests, then their answers
        PcapOut o(dir / "pipelined_5000.pcap");
        o.handshake(43000, 1, 9000);
        std::uint32_t cseq = 2, sseq = 9001;
        for (int i = 0; i < 5000; ++i) {
            const std::string req = "GET /p" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
            o.tcp(43000, 3000, cseq, sseq, psh | ack, req);
            cseq += static_cast<std::uint32_t>(req.size());
        }
        for (int i = 0; i < 5000; ++i) {
            const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
            o.tcp(3000, 43000, sseq, cseq, psh | ack, resp);
            sseq += static_cast<std::uint32_t>(resp.size());
        }
    }
    {   // 100 000 data segments never acknowledged
        PcapOut o(dir / "unacked_100k.pcap");
        o.handshake(44000, 1000, 5000);
        for (std::uint32_t i = 0; i < 100000 / scale; ++i) o.tcp(3000, 44000, 5001 + i * 100, 1001, ack, std::string(100, 'u'));
    }
    // pcapng: far-future times (nanoseconds near 2^64), corrupted resolutions, two link types,
    // a block that claims more bytes than the file has.
    small_page_pcapng(dir / "pcapng_year_2500.pcapng", 9, 16725225600ull * 1000000000ull);
    small_page_pcapng(dir / "pcapng_tsresol_2pow127.pcapng", 0xFF, 1);
    small_page_pcapng(dir / "pcapng_tsresol_10pow127.pcapng", 0x7F, 123456789);
    small_page_pcapng(dir / "pcapng_tsresol_zero.pcapng", 0x00, ~std::uint64_t{0} / 3);
    {
        PcapngOut o(dir / "pcapng_two_link_types.pcapng");
        o.interface(1, 6);
        o.interface(0, 6);
        o.packet(0, 1, frame(50000, 3000, 100, 0, syn));
        o.packet(1, 2, {2, 0, 0, 0, 0x45, 0});
        o.packet(0, 3, frame(3000, 50000, 900, 101, syn | ack));
    }
    {
        PcapngOut o(dir / "pcapng_lying_block.pcapng");
        o.interface(1, 6);
        o.packet(0, 1, frame(50000, 3000, 100, 0, syn));
        o.lying_block(0x7FFFFFF0u);
    }
    {   // byte-flipped mutants of a small pcapng
        small_page_pcapng(dir / "seed.pcapng", 6, 1700000000000000ull);
        std::ifstream in(dir / "seed.pcapng", std::ios::binary);
        const std::string seed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        fs::create_directories(dir / "mutants");
        std::mt19937 rng(20261130);
        for (int m = 0; m < 200; ++m) {
            std::string b = seed;
            const int flips = 1 + static_cast<int>(rng() % 8);
            for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<char>(rng());
            std::ofstream(dir / "mutants" / ("mutant" + std::to_string(m) + ".pcapng"), std::ios::binary) << b;
        }
        fs::remove(dir / "seed.pcapng");
    }
    {   // a file name that is not UTF-8 (a copy of the pipelining capture's start)
        const std::string name = std::string("name-\xff\xfe-latin1-caf\xe9.pcap");
        fs::copy_file(dir / "pcapng_year_2500.pcapng", dir / name, fs::copy_options::overwrite_existing);
    }
    std::cout << "labtool_make_corpus: wrote the hostile captures to " << dir.string() << "\n";
    return 0;
}
