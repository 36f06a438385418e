// PcapngWriter: pcapng (draft-ietf-opsawg-pcapng) written by hand, since libpcap only writes
// classic pcap. Everything is little-endian, byte by byte, whatever the host order, and the
// Section Header's byte-order magic is written the same way, so readers on any host agree.
#include "labtool/capture/pcapng_writer.hpp"
#include "pcapng_format.hpp"
#include "record_file.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/platform/files.hpp"
#include "labtool/platform/process.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#ifdef _WIN32
#include <filesystem>
#endif

namespace labtool::capture {

namespace {

// Block types (§4.1, §4.2, §4.3) and the byte-order magic (§4.1).
using pcapng::block_epb;
using pcapng::block_idb;
using pcapng::block_shb;
using pcapng::byte_order_magic;
using pcapng::version_major;
constexpr std::uint16_t version_minor = 0;
constexpr std::uint64_t section_length_unknown = ~std::uint64_t{0};

// Option codes (§3.5, §4.1, §4.2).
using pcapng::opt_comment;
using pcapng::opt_endofopt;
constexpr std::uint16_t shb_userappl = 4;
constexpr std::uint16_t if_name = 2;
constexpr std::uint16_t if_tsresol = 9;
constexpr std::uint8_t tsresol_nanoseconds = 9;  // 10^-9 s per timestamp unit

constexpr std::uint64_t nanoseconds_per_second = 1'000'000'000;

// pcapng stores LINKTYPE_* values; callers pass DLT_* values (pcap_datalink). They differ only
// for a few old numbers: raw IP is DLT_RAW 12 (14 on OpenBSD) but LINKTYPE_RAW 101, which is
// accepted too (libpcap refuses it as a DLT, so a caller may already hold the file value).
constexpr int dlt_raw = 12;
constexpr int dlt_raw_openbsd = 14;
constexpr int linktype_raw = 101;
constexpr int max_linktype = 0xFFFF;  // the IDB field is 16 bits

std::size_t pad4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

/// The longest prefix of `text` that fits an option and does not end inside a UTF-8 sequence.
std::string_view fit_option(std::string_view text) {
    if (text.size() <= PcapngWriter::max_option_bytes) {
        return text;
    }
    std::size_t cut = PcapngWriter::max_option_bytes;
    // text[cut] is the first byte dropped: while it continues a sequence (10xxxxxx), the
    // character it belongs to would be split, so drop that whole character as well.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
        --cut;
    }
    return text.substr(0, cut);
}

/// A block under construction: little-endian integers, options, padding, both lengths.
class BlockBuilder {
public:
    void begin(std::uint32_t type) {
        bytes_.clear();
        has_options_ = false;
        u32(type);
        u32(0);  // total length, set by finish()
    }
    void u8(std::uint8_t v) { bytes_.push_back(v); }
    void u16(std::uint16_t v) {
        for (int i = 0; i < 2; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void raw(const void* data, std::size_t size) {
        const auto* p = static_cast<const std::uint8_t*>(data);
        bytes_.insert(bytes_.end(), p, p + size);
    }
    /// Zero bytes that bring a field of `field_bytes` to a multiple of 4. Relative to the
    /// field, not to bytes(): an EPB's packet data sits between the parts and is not in it.
    void pad_after(std::size_t field_bytes) { bytes_.resize(bytes_.size() + pad4(field_bytes) - field_bytes, 0); }

    /// One option (§3.5): code, length, value, padding to 32 bits. Empty values are skipped.
    void option(std::uint16_t code, std::string_view value) {
        value = fit_option(value);
        if (value.empty()) {
            return;
        }
        u16(code);
        u16(static_cast<std::uint16_t>(value.size()));
        raw(value.data(), value.size());
        pad_after(value.size());
        has_options_ = true;
    }
    /// Ends the options with opt_endofopt if any were written (an empty list is omitted).
    void end_options() {
        if (has_options_) {
            u16(opt_endofopt);
            u16(0);
        }
        has_options_ = false;
    }
    /// Adds the trailing length and patches the leading one; `extra` counts bytes the caller
    /// writes between the two parts (the packet data, which is not copied).
    void finish(std::size_t extra = 0) {
        const auto total = static_cast<std::uint32_t>(bytes_.size() + extra + 4);
        for (int i = 0; i < 4; ++i) {
            bytes_[4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(total >> (8 * i));
        }
        u32(total);
    }
    [[nodiscard]] std::vector<std::uint8_t>& bytes() { return bytes_; }

private:
    std::vector<std::uint8_t> bytes_;
    bool has_options_ = false;
};


}  // namespace

struct PcapngWriter::Impl {
    std::optional<detail::RecordFile> out;  // whole blocks only reach the file
    std::uint32_t snaplen = 0;     // as written in the IDB; 0: no limit
    BlockBuilder block;            // reused: no allocation per packet once it has grown

    /// Appends the block being built, with `extra` bytes of `data` spliced in at `at` (an EPB's
    /// packet data, which the builder does not hold).
    void append(std::size_t at = 0, const std::uint8_t* data = nullptr, std::size_t extra = 0) {
        const std::vector<std::uint8_t>& bytes = block.bytes();
        out->make_room(bytes.size() + extra);
        std::vector<std::uint8_t>& buffer = out->buffer();
        buffer.insert(buffer.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
        if (extra != 0) buffer.insert(buffer.end(), data, data + extra);
        buffer.insert(buffer.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.end());
    }
};

PcapngWriter::PcapngWriter(const std::string& path, int link_type, int snaplen,
                           const std::string& interface_name, const std::string& section_comment,
                           const std::string& application)
    : impl_(std::make_unique<Impl>()) {
    const int linktype = (link_type == dlt_raw || link_type == dlt_raw_openbsd) ? linktype_raw : link_type;
    if (linktype < 0 || linktype > max_linktype) {
        throw CaptureError(CaptureErrorKind::other,
                           "cannot write " + path + ": link type " + std::to_string(link_type) +
                               " does not fit a pcapng interface block");
    }
    impl_->out.emplace(path);  // throws when it cannot be opened (links are refused)

    BlockBuilder& b = impl_->block;
    // Section Header Block (§4.1).
    b.begin(block_shb);
    b.u32(byte_order_magic);
    b.u16(version_major);
    b.u16(version_minor);
    b.u64(section_length_unknown);  // we stream, so the length is not known up front
    b.option(opt_comment, section_comment);
    b.option(shb_userappl, application);
    b.end_options();
    b.finish();
    impl_->append();
    impl_->out->end_record(false);

    // Interface Description Block (§4.2): interface 0 for every packet.
    b.begin(block_idb);
    b.u16(static_cast<std::uint16_t>(linktype));
    b.u16(0);  // reserved
    impl_->snaplen = snaplen > 0 ? static_cast<std::uint32_t>(snaplen) : 0U;
    b.u32(impl_->snaplen);  // 0: no limit
    b.option(if_name, interface_name);
    {
        // if_tsresol: one byte, 9 = nanoseconds; without it readers assume microseconds.
        b.u16(if_tsresol);
        b.u16(1);
        b.u8(tsresol_nanoseconds);
        b.pad_after(1);
        b.u16(opt_endofopt);
        b.u16(0);
    }
    b.finish();
    impl_->append();
    impl_->out->end_record(false);  // the headers stay in the buffer until the first flush
}

PcapngWriter::~PcapngWriter() = default;

void PcapngWriter::write(const Packet& packet, const std::string& comment) {
    if (impl_->out->broken()) return;  // the failure was reported once
    // Never claim more bytes than we hold, nor more than the IDB's snaplen promises readers:
    // libpcap (sf-pcapng.c) rejects such a packet as "bigger than snaplen" and stops reading
    // the file there. len below caplen would contradict itself.
    std::uint32_t caplen = static_cast<std::uint32_t>(
        std::min<std::size_t>(packet.caplen, packet.data.size()));
    if (impl_->snaplen > 0) {
        caplen = std::min(caplen, impl_->snaplen);
    }
    const std::uint32_t len = std::max(packet.len, caplen);
    // Timestamp in if_tsresol units (ns) since 1970, as a 64-bit count split high/low (§4.3).
    // Seconds below 0 cannot be stored; nsec above a second is carried like any other count.
    const std::uint64_t sec = packet.ts.sec > 0 ? static_cast<std::uint64_t>(packet.ts.sec) : 0U;
    const std::uint64_t ts = sec * nanoseconds_per_second + packet.ts.nsec;

    // Enhanced Packet Block (§4.3): the fixed part, then the caller's data, then padding,
    // options and the trailing length; appended as one whole block.
    BlockBuilder& b = impl_->block;
    b.begin(block_epb);
    b.u32(0);  // interface 0
    b.u32(static_cast<std::uint32_t>(ts >> 32));
    b.u32(static_cast<std::uint32_t>(ts & 0xFFFFFFFFU));
    b.u32(caplen);
    b.u32(len);
    const std::size_t head_bytes = b.bytes().size();
    b.pad_after(caplen);
    b.option(opt_comment, comment);
    b.end_options();
    b.finish(caplen);

    impl_->append(head_bytes, packet.data.data(), caplen);
    impl_->out->end_record(true);
}

void PcapngWriter::flush() { impl_->out->flush(); }

std::error_code PcapngWriter::error() const noexcept { return impl_->out->error(); }

const std::string& PcapngWriter::warning() const noexcept { return impl_->out->warning(); }

std::uint64_t PcapngWriter::packets_written() const noexcept { return impl_->out->packets(); }

}  // namespace labtool::capture
