// Test helpers: build pcap / pcapng files byte by byte, a scratch directory, and a reader loop.
#pragma once

#include "labtool/capture/file_reader.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace labtool::capture::test {

inline constexpr std::uint32_t pcap_magic_micro = 0xa1b2c3d4;
inline constexpr std::uint32_t pcap_magic_nano = 0xa1b23c4d;
inline constexpr std::size_t pcap_file_header_bytes = 24;
inline constexpr std::size_t pcap_record_header_bytes = 16;

enum class Endian { little, big };

/// Appends integers in a chosen byte order.
class ByteWriter {
public:
    explicit ByteWriter(Endian endian) : endian_(endian) {}

    void u8(std::uint8_t v) { bytes_.push_back(v); }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    void raw(const std::vector<std::uint8_t>& data) {
        bytes_.insert(bytes_.end(), data.begin(), data.end());
    }
    void pad4() {
        while (bytes_.size() % 4 != 0) {
            bytes_.push_back(0);
        }
    }
    // Overwrites a 32-bit value already written at `offset`.
    void patch_u32(std::size_t offset, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) {
            const int shift = endian_ == Endian::little ? 8 * i : 8 * (3 - i);
            bytes_[offset + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> shift);
        }
    }
    [[nodiscard]] std::size_t size() const { return bytes_.size(); }
    [[nodiscard]] const std::vector<std::uint8_t>& bytes() const { return bytes_; }

private:
    void put(std::uint64_t v, int width) {
        for (int i = 0; i < width; ++i) {
            const int shift = endian_ == Endian::little ? 8 * i : 8 * (width - 1 - i);
            bytes_.push_back(static_cast<std::uint8_t>(v >> shift));
        }
    }

    Endian endian_;
    std::vector<std::uint8_t> bytes_;
};

struct Record {
    std::uint32_t sec = 0;
    std::uint32_t frac = 0;  // µs or ns, as the magic says
    std::uint32_t len = 0;   // original length; 0: same as data.size()
    std::vector<std::uint8_t> data;
};

/// A classic pcap file (libpcap format 2.4).
inline std::vector<std::uint8_t> classic_pcap(Endian endian, std::uint32_t magic,
                                              std::uint32_t link_type,
                                              const std::vector<Record>& records,
                                              std::uint32_t snaplen = 65535) {
    ByteWriter w(endian);
    w.u32(magic);
    w.u16(2);
    w.u16(4);
    w.u32(0);  // thiszone
    w.u32(0);  // sigfigs
    w.u32(snaplen);
    w.u32(link_type);
    for (const Record& r : records) {
        w.u32(r.sec);
        w.u32(r.frac);
        w.u32(static_cast<std::uint32_t>(r.data.size()));
        w.u32(r.len != 0 ? r.len : static_cast<std::uint32_t>(r.data.size()));
        w.raw(r.data);
    }
    return w.bytes();
}

/// pcapng: a Section Header Block, one Interface Description Block per link type (with
/// if_tsresol when `tsresol` != 6), and one Enhanced Packet Block per record on `interfaces[i]`.
struct NgPacket {
    std::uint32_t interface = 0;
    std::uint64_t ts = 0;  // in units of the interface's resolution
    std::uint32_t len = 0; // 0: same as data.size()
    std::vector<std::uint8_t> data;
};

inline void ng_block(ByteWriter& w, std::uint32_t type, const std::vector<std::uint8_t>& body) {
    const auto total = static_cast<std::uint32_t>(12 + body.size());
    w.u32(type);
    w.u32(total);
    w.raw(body);
    w.u32(total);
}

inline std::vector<std::uint8_t> pcapng(Endian endian, const std::vector<std::uint16_t>& links,
                                        const std::vector<NgPacket>& packets,
                                        std::uint8_t tsresol = 6) {
    ByteWriter w(endian);
    {
        ByteWriter body(endian);
        body.u32(0x1A2B3C4D);  // byte-order magic
        body.u16(1);
        body.u16(0);
        body.u64(~std::uint64_t{0});  // section length unknown
        ng_block(w, 0x0A0D0D0A, body.bytes());
    }
    for (std::uint16_t link : links) {
        ByteWriter body(endian);
        body.u16(link);
        body.u16(0);
        body.u32(262144);
        if (tsresol != 6) {
            body.u16(9);  // if_tsresol
            body.u16(1);
            body.u8(tsresol);
            body.pad4();
            body.u16(0);  // opt_endofopt
            body.u16(0);
        }
        ng_block(w, 1, body.bytes());
    }
    for (const NgPacket& p : packets) {
        ByteWriter body(endian);
        body.u32(p.interface);
        body.u32(static_cast<std::uint32_t>(p.ts >> 32));
        body.u32(static_cast<std::uint32_t>(p.ts & 0xffffffffU));
        body.u32(static_cast<std::uint32_t>(p.data.size()));
        body.u32(p.len != 0 ? p.len : static_cast<std::uint32_t>(p.data.size()));
        body.raw(p.data);
        body.pad4();
        ng_block(w, 6, body.bytes());
    }
    return w.bytes();
}

/// A classic pcap file with every header field chosen: version, Kuznetzov-style 24-byte record
/// headers (`record_padding` = 8), lengths stored as given (no caplen/len default).
struct RawRecord {
    std::uint32_t sec = 0;
    std::uint32_t frac = 0;
    std::uint32_t caplen = 0;
    std::uint32_t len = 0;
    std::vector<std::uint8_t> data;
};

inline std::vector<std::uint8_t> classic_pcap_raw(Endian endian, std::uint32_t magic, std::uint16_t major,
                                                  std::uint16_t minor, std::uint32_t snaplen,
                                                  std::uint32_t link_type, const std::vector<RawRecord>& records,
                                                  std::size_t record_padding = 0) {
    ByteWriter w(endian);
    w.u32(magic);
    w.u16(major);
    w.u16(minor);
    w.u32(0);
    w.u32(0);
    w.u32(snaplen);
    w.u32(link_type);
    for (const RawRecord& r : records) {
        w.u32(r.sec);
        w.u32(r.frac);
        w.u32(r.caplen);
        w.u32(r.len);
        for (std::size_t i = 0; i < record_padding; ++i) {
            w.u8(0);
        }
        w.raw(r.data);
    }
    return w.bytes();
}

/// pcapng option bytes (code, length, value, padding); concatenate them, end with ng_end().
inline std::vector<std::uint8_t> ng_option(Endian endian, std::uint16_t code, const std::vector<std::uint8_t>& value) {
    ByteWriter w(endian);
    w.u16(code);
    w.u16(static_cast<std::uint16_t>(value.size()));
    w.raw(value);
    w.pad4();
    return w.bytes();
}
inline std::vector<std::uint8_t> ng_end(Endian endian) { return ng_option(endian, 0, {}); }
inline std::vector<std::uint8_t> ng_tsresol(Endian endian, std::uint8_t tsresol) {
    return ng_option(endian, 9, {tsresol});
}
inline std::vector<std::uint8_t> ng_tsoffset(Endian endian, std::int64_t seconds) {
    ByteWriter v(endian);
    v.u64(static_cast<std::uint64_t>(seconds));
    return ng_option(endian, 14, v.bytes());
}
inline std::vector<std::uint8_t> ng_comment(Endian endian, const std::string& text) {
    return ng_option(endian, 1, std::vector<std::uint8_t>(text.begin(), text.end()));
}
inline std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
    std::vector<std::uint8_t> out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

/// A pcapng file block by block: any number of sections, interfaces, options and packet kinds.
class NgFile {
public:
    explicit NgFile(Endian endian) : endian_(endian), w_(endian) {}

    NgFile& shb(const std::vector<std::uint8_t>& options = {}, std::uint16_t major = 1, std::uint16_t minor = 0) {
        ByteWriter body(endian_);
        body.u32(0x1A2B3C4D);
        body.u16(major);
        body.u16(minor);
        body.u64(~std::uint64_t{0});
        body.raw(options);
        return block(0x0A0D0D0A, body.bytes());
    }
    NgFile& idb(std::uint16_t link, std::uint32_t snaplen, const std::vector<std::uint8_t>& options = {}) {
        ByteWriter body(endian_);
        body.u16(link);
        body.u16(0);
        body.u32(snaplen);
        body.raw(options);
        return block(1, body.bytes());
    }
    NgFile& epb(std::uint32_t interface, std::uint64_t ts, const std::vector<std::uint8_t>& data,
                std::uint32_t len = 0, const std::vector<std::uint8_t>& options = {}) {
        ByteWriter body(endian_);
        body.u32(interface);
        body.u32(static_cast<std::uint32_t>(ts >> 32));
        body.u32(static_cast<std::uint32_t>(ts & 0xffffffffU));
        body.u32(static_cast<std::uint32_t>(data.size()));
        body.u32(len != 0 ? len : static_cast<std::uint32_t>(data.size()));
        body.raw(data);
        body.pad4();
        body.raw(options);
        return block(6, body.bytes());
    }
    /// Obsolete Packet Block (interface 16 bits, drops count).
    NgFile& pb(std::uint16_t interface, std::uint64_t ts, const std::vector<std::uint8_t>& data, std::uint32_t len = 0) {
        ByteWriter body(endian_);
        body.u16(interface);
        body.u16(0);
        body.u32(static_cast<std::uint32_t>(ts >> 32));
        body.u32(static_cast<std::uint32_t>(ts & 0xffffffffU));
        body.u32(static_cast<std::uint32_t>(data.size()));
        body.u32(len != 0 ? len : static_cast<std::uint32_t>(data.size()));
        body.raw(data);
        body.pad4();
        return block(2, body.bytes());
    }
    /// Simple Packet Block: original length, data (cut to the snaplen by the writer).
    NgFile& spb(std::uint32_t len, const std::vector<std::uint8_t>& data) {
        ByteWriter body(endian_);
        body.u32(len);
        body.raw(data);
        body.pad4();
        return block(3, body.bytes());
    }
    NgFile& block(std::uint32_t type, const std::vector<std::uint8_t>& body) {
        ng_block(w_, type, body);
        return *this;
    }
    [[nodiscard]] const std::vector<std::uint8_t>& bytes() const { return w_.bytes(); }

private:
    Endian endian_;
    ByteWriter w_;
};

inline // An Ethernet + IPv4 + TCP SYN from 127.0.0.1:40000 to 127.0.0.1:8080 (checksums not checked).
std::vector<std::uint8_t> syn_frame() {
    return {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00,              // Ethernet, IPv4
        0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,  // IPv4
        0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,  // TCP
    };
}

/// A directory removed with everything in it when the object goes away.
class ScratchDir {
public:
    ScratchDir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("labtool_capture_test_" + std::to_string(::getpid()) + "_" +
                 std::to_string(counter++));
        std::filesystem::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

    std::string write(const std::string& name, const std::vector<std::uint8_t>& bytes) const {
        const std::string path = file(name);
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
        return path;
    }

private:
    std::filesystem::path path_;
};

/// A packet copied out of the reader (its bytes are only valid until the next read).
struct ReadPacket {
    std::int64_t sec = 0;
    std::uint32_t nsec = 0;
    std::uint32_t caplen = 0;
    std::uint32_t len = 0;
    std::vector<std::uint8_t> data;
};

struct ReadResult {
    std::vector<ReadPacket> packets;
    ReadStatus status = ReadStatus::end;
    std::string error;
};

inline ReadResult read_all(FileReader& reader, std::size_t limit = 100000) {
    ReadResult result;
    Packet packet;
    for (std::size_t i = 0; i < limit; ++i) {
        const ReadStatus status = reader.next(packet);
        if (status != ReadStatus::packet) {
            result.status = status;
            result.error = reader.error();
            return result;
        }
        result.packets.push_back({packet.ts.sec, packet.ts.nsec, packet.caplen, packet.len,
                                  std::vector<std::uint8_t>(packet.data.begin(), packet.data.end())});
    }
    return result;
}

}  // namespace labtool::capture::test
