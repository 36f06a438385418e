// FileReader: classic pcap and pcapng files read by our own code, not libpcap, so that replay and
// report work on Windows without Npcap's wpcap.dll. Every check and every conversion follows
// libpcap 1.10's sf-pcap.c and sf-pcapng.c: a file libpcap reads gives the same packets here, a
// file it refuses is refused here, and a file cut short is "truncated" in both; the few
// deliberate differences are listed below. tests/capture/file_reader_libpcap_test.cpp holds the
// two readers side by side on every capture in tests/, cut at many lengths and mutated.
//
// Formats: draft-ietf-opsawg-pcap (classic pcap) and draft-ietf-opsawg-pcapng.
//
// Deliberate differences from libpcap 1.10 (each asserted by the differential test):
//  - classic-pcap seconds and fractions are unsigned 32-bit fields, as the format says and as
//    libpcap reads them in a file of the other byte order; in a file of the host's order libpcap
//    1.10 sign-extends them (a record after 2038-01-19 would read as 1901), and we do not;
//  - a classic-pcap record whose sub-second field is out of range (damaged or fuzzed files) has
//    it carried into the seconds, so Packet::ts.nsec stays 0..999'999'999 (libpcap passes it on);
//  - pcapng seconds beyond +-9'223'372'035 (year 2262) are clamped there, so sec * 10^9 + nsec
//    fits an int64 (libpcap wraps them modulo 2^64);
//  - a pcapng interface whose LINKTYPE maps to the first interface's DLT (a second raw-IP
//    interface, LINKTYPE_RAW 101 = DLT_RAW 12) is accepted: libpcap compares the first
//    interface's DLT with the later interfaces' LINKTYPE and refuses the file;
//  - the pseudo-headers libpcap rewrites for a few link types labtool does not decode (PFLOG,
//    USB Linux, NFLOG: host-byte-order fields of the writing host; the on-the-bus length of old
//    memory-mapped USB captures) are handed over as stored. The SocketCAN ID in Linux cooked
//    (SLL/SLL2) headers, a link type labtool does decode, is swapped as libpcap swaps it.
#include "labtool/capture/file_reader.hpp"
#include "pcapng_format.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/platform/files.hpp"

#include <pcap/dlt.h>  // this platform's DLT_* numbers (macros only: no libpcap call is made)

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <system_error>
#include <vector>

namespace labtool::capture {

// ---- link types (libpcap pcap-common.c: linktype_to_dlt, dlt_to_linktype, max_snaplen_for_dlt)

namespace {

// LINKTYPE_* values from LINKTYPE_MATCHING_MIN up are the same number as DLT_* on every
// platform, except LINKTYPE_ATM_CLIP (106), LINKTYPE_PFSYNC (246) and LINKTYPE_PKTAP (258).
constexpr int matching_min = 104;
#ifdef DLT_MATCHING_MAX
constexpr int matching_max = DLT_MATCHING_MAX;  // the platform's libpcap knows up to here
#else
constexpr int matching_max = 289;  // libpcap 1.10
#endif
constexpr int linktype_atm_clip = 106;
constexpr int linktype_pfsync = 246;
constexpr int linktype_pktap = 258;
constexpr int linktype_raw = 101;

struct LinkTypeMapping {
    int dlt;
    int linktype;
};

// Below the matching range the numbers differ between platforms (DLT_RAW is 14 on OpenBSD),
// so the DLT side comes from this platform's <pcap/dlt.h>, as in libpcap's own table.
constexpr LinkTypeMapping link_type_map[] = {
    {DLT_NULL, 0},
    {DLT_EN10MB, 1},
    {DLT_EN3MB, 2},
    {DLT_AX25, 3},
    {DLT_PRONET, 4},
    {DLT_CHAOS, 5},
    {DLT_IEEE802, 6},
    {DLT_ARCNET, 7},
    {DLT_SLIP, 8},
    {DLT_PPP, 9},
    {DLT_FDDI, 10},
#ifdef DLT_SYMANTEC_FIREWALL
    {DLT_SYMANTEC_FIREWALL, 99},
#endif
#ifdef DLT_FR
    {DLT_FR, 107},
#endif
    {DLT_ATM_RFC1483, 100},
    {DLT_RAW, linktype_raw},
#ifdef DLT_SLIP_BSDOS
    {DLT_SLIP_BSDOS, 102},
#endif
#ifdef DLT_PPP_BSDOS
    {DLT_PPP_BSDOS, 103},
#endif
#ifdef DLT_HDLC
    {DLT_HDLC, 112},
#endif
#ifdef DLT_C_HDLC
    {DLT_C_HDLC, 104},
#endif
#ifdef DLT_ATM_CLIP
    {DLT_ATM_CLIP, linktype_atm_clip},
#endif
#ifdef DLT_PPP_SERIAL
    {DLT_PPP_SERIAL, 50},
#endif
#ifdef DLT_PPP_ETHER
    {DLT_PPP_ETHER, 51},
#endif
};

#ifdef DLT_PFSYNC
constexpr int dlt_pfsync = DLT_PFSYNC;
#else
constexpr int dlt_pfsync = linktype_pfsync;
#endif
#ifdef DLT_PKTAP
constexpr int dlt_pktap = DLT_PKTAP;
#else
constexpr int dlt_pktap = linktype_pktap;
#endif

// max_snaplen_for_dlt: MAXIMUM_SNAPLEN, and the three link types with larger packets.
constexpr std::uint32_t maximum_snaplen = 262144;
constexpr int dlt_dbus = 231;
constexpr int dlt_usbpcap = 249;
constexpr int dlt_ebhscr = 279;
constexpr std::uint32_t max_dbus_bytes = 128U * 1024 * 1024;
constexpr std::uint32_t max_ebhscr_bytes = 8U * 1024 * 1024;
constexpr std::uint32_t max_usbpcap_bytes = 1024U * 1024;

}  // namespace

int dlt_from_linktype(std::uint32_t linktype) noexcept {
    if (linktype > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) {
        return static_cast<int>(linktype & 0x7FFFFFFFU);  // never in a file: LT_LINKTYPE masks it
    }
    const int value = static_cast<int>(linktype);
    if (value == linktype_pfsync) return dlt_pfsync;
    if (value == linktype_pktap) return dlt_pktap;
    if (value >= matching_min && value <= matching_max && value != linktype_atm_clip) return value;
    for (const LinkTypeMapping& m : link_type_map) {
        if (m.linktype == value) return m.dlt;
    }
    return value;  // perhaps a DLT of a newer libpcap: passed on as it is
}

int linktype_from_dlt(int dlt) noexcept {
    if (dlt == dlt_pfsync) return linktype_pfsync;
    if (dlt == dlt_pktap) return linktype_pktap;
    if (dlt >= matching_min && dlt <= matching_max) return dlt;
    for (const LinkTypeMapping& m : link_type_map) {
        if (m.dlt == dlt) return m.linktype;
    }
    return -1;
}

std::uint32_t max_caplen_for_dlt(int dlt) noexcept {
    switch (dlt) {
        case dlt_dbus: return max_dbus_bytes;
        case dlt_ebhscr: return max_ebhscr_bytes;
        case dlt_usbpcap: return max_usbpcap_bytes;
        default: return maximum_snaplen;
    }
}

namespace {

// ---- file format constants

// Classic pcap (sf-pcap.c): the magic says byte order and timestamp unit.
constexpr std::uint32_t magic_micro = 0xA1B2C3D4;
constexpr std::uint32_t magic_nano = 0xA1B23C4D;
constexpr std::uint32_t magic_kuznetzov = 0xA1B2CD34;  // microseconds, 24-byte record header
constexpr std::size_t classic_file_header_bytes = 24;
constexpr std::size_t classic_record_header_bytes = 16;
constexpr std::size_t kuznetzov_record_header_bytes = 24;
constexpr std::uint16_t classic_version_major = 2;
constexpr std::uint16_t classic_version_minor = 4;
constexpr std::uint16_t dgux_version_major = 543;  // DG/UX tcpdump, with 2.2-style lengths
constexpr std::uint32_t linktype_mask = 0x03FFFFFF;  // the upper 6 bits hold extra flags (FCS)
constexpr int ethernet_header_bytes = 14;

// pcapng (sf-pcapng.c).
using pcapng::block_epb;
using pcapng::block_idb;
using pcapng::block_pb;
using pcapng::block_shb;
using pcapng::block_spb;
using pcapng::byte_order_magic;
constexpr std::uint16_t pcapng_version_major = pcapng::version_major;
constexpr std::size_t block_header_bytes = 8;   // type, total length
constexpr std::size_t block_trailer_bytes = 4;  // total length again
constexpr std::size_t min_block_bytes = block_header_bytes + block_trailer_bytes;
constexpr std::size_t shb_fixed_bytes = 16;  // byte-order magic, version, section length
constexpr std::size_t idb_fixed_bytes = 8;   // link type, reserved, snaplen
constexpr std::size_t epb_fixed_bytes = 20;  // interface, timestamp high/low, caplen, len
constexpr std::size_t pb_fixed_bytes = 20;   // interface (16 bits), drops, timestamp, lengths
constexpr std::size_t spb_fixed_bytes = 4;   // len
constexpr std::uint32_t max_shb_bytes = 1024 * 1024;  // BT_SHB_INSANE_MAX
// libpcap refuses blocks above 16 MiB, or above an EPB with a maximum-size packet and 128 KiB
// of options when that is more (D-Bus): memory stays bounded whatever a length field claims.
constexpr std::uint32_t initial_max_block_bytes = 16 * 1024 * 1024;
constexpr std::uint32_t max_option_block_bytes = 131072;
constexpr std::uint16_t opt_endofopt = 0;
constexpr std::uint16_t if_tsresol = 9;
constexpr std::uint16_t if_tsoffset = 14;
constexpr std::uint8_t tsresol_binary_flag = 0x80;
constexpr unsigned max_tsresol_binary_exponent = 63;   // 2^63 still fits 64 bits
constexpr unsigned max_tsresol_decimal_exponent = 19;  // 10^19 likewise
constexpr std::uint64_t default_tsresol = 1'000'000;   // microseconds without if_tsresol
// libpcap grows its interface table without a limit; a real capture has a few dozen.
constexpr std::size_t max_interfaces = 1'000'000;

// Timestamps.
constexpr std::uint64_t nanos_per_second = 1'000'000'000;
constexpr std::int64_t nanos_per_micro = 1'000;
// The largest |seconds| for which seconds * 10^9 + 999'999'999 still fits an int64.
constexpr std::int64_t max_seconds = 9'223'372'035;

// Linux cooked headers (pcap/sll.h): SocketCAN frames keep their CAN ID in the writer's byte
// order, so libpcap swaps it when the file's order is not ours (pcap-util.c).
constexpr std::size_t sll_header_bytes = 16;
constexpr std::size_t sll_protocol_offset = 14;
constexpr std::size_t sll2_header_bytes = 20;
constexpr std::size_t sll2_protocol_offset = 0;
constexpr std::uint16_t sll_protocol_can = 0x000C;
constexpr std::uint16_t sll_protocol_canfd = 0x000D;
constexpr std::size_t can_id_bytes = 4;

// Reads go through one buffer of our own: 1 MiB at a time, packets handed over in place.
constexpr std::size_t read_chunk_bytes = 1024 * 1024;
constexpr std::size_t min_grow_bytes = 4096;  // the least a buffer grows by (from 0: an empty file)

// ---- helpers

std::string os_reason(int error_number) { return std::generic_category().message(error_number); }

bool host_is_big_endian() {
    const std::uint16_t probe = 1;
    unsigned char first = 0;
    std::memcpy(&first, &probe, 1);
    return first == 0;
}

std::uint16_t load_u16(const std::uint8_t* p, bool big) {
    return big ? static_cast<std::uint16_t>(p[0] << 8 | p[1])
               : static_cast<std::uint16_t>(p[1] << 8 | p[0]);
}

std::uint32_t load_u32(const std::uint8_t* p, bool big) {
    const std::uint32_t a = p[0], b = p[1], c = p[2], d = p[3];
    return big ? (a << 24 | b << 16 | c << 8 | d) : (d << 24 | c << 16 | b << 8 | a);
}

std::uint64_t load_u64(const std::uint8_t* p, bool big) {
    const std::uint64_t first = load_u32(p, big);
    const std::uint64_t second = load_u32(p + 4, big);
    return big ? (first << 32 | second) : (second << 32 | first);
}

std::size_t pad4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// floor division and remainder by 10^9, for a signed nanosecond count.
Timestamp normalized(std::int64_t sec, std::int64_t nanos) {
    constexpr auto billion = static_cast<std::int64_t>(nanos_per_second);
    std::int64_t carry = nanos / billion;
    std::int64_t rest = nanos % billion;
    if (rest < 0) {
        rest += billion;
        --carry;
    }
    return Timestamp{sec + carry, static_cast<std::uint32_t>(rest)};
}

/// q + offset (q unsigned, offset signed: if_tsoffset), clamped to +-max_seconds.
std::int64_t add_clamped(std::uint64_t q, std::int64_t offset) {
    constexpr auto max = static_cast<std::uint64_t>(max_seconds);
    if (offset >= 0) {
        const auto off = static_cast<std::uint64_t>(offset);
        if (q > max || off > max - q) return max_seconds;
        return static_cast<std::int64_t>(q + off);
    }
    const std::uint64_t magnitude = 0 - static_cast<std::uint64_t>(offset);  // up to 2^63
    if (q >= magnitude) {
        const std::uint64_t d = q - magnitude;
        return d > max ? max_seconds : static_cast<std::int64_t>(d);
    }
    const std::uint64_t d = magnitude - q;
    return d > max ? -max_seconds : -static_cast<std::int64_t>(d);
}

void reverse4(std::uint8_t* p) {
    std::swap(p[0], p[3]);
    std::swap(p[1], p[2]);
}

/// libpcap's swap_linux_sll_header / swap_linux_sll2_header.
void swap_cooked_can_id(int dlt, std::uint8_t* data, std::uint32_t caplen, std::uint32_t len) {
    std::size_t header = 0;
    std::size_t protocol_at = 0;
    if (dlt == DLT_LINUX_SLL) {
        header = sll_header_bytes;
        protocol_at = sll_protocol_offset;
#ifdef DLT_LINUX_SLL2
    } else if (dlt == DLT_LINUX_SLL2) {
        header = sll2_header_bytes;
        protocol_at = sll2_protocol_offset;
#endif
    } else {
        return;
    }
    if (caplen < header || len < header) return;
    const std::uint16_t protocol = load_u16(data + protocol_at, true);
    if (protocol != sll_protocol_can && protocol != sll_protocol_canfd) return;
    if (caplen < header + can_id_bytes || len < header + can_id_bytes) return;
    reverse4(data + header);
}

// ---- buffered input

/// The file through one reusable buffer: want(n) makes n bytes contiguous at data(), reading
/// 1 MiB at a time; records are handed out in place. The buffer grows only when one record is
/// larger than it, and then only as fast as the file really delivers bytes, so a length field
/// that claims 16 MiB in a short file costs no 16 MiB.
/// For a regular file, every length is first held against what the file still holds: the
/// buffer starts at the file's size when that is below 1 MiB, and want(n) never reads or
/// allocates for more than the bytes left, so no length field, however large, makes the
/// reader allocate more than the file's size (a file still being written is asked again).
class Input {
public:
    Input() = default;

    /// `path`: the file's name, for its size when it is a regular file (not a pipe).
    void attach(std::FILE* file, const std::filesystem::path& path) {
        file_ = file;
        path_ = path;
        std::error_code ec;
        if (std::filesystem::is_regular_file(path_, ec)) {
            sized_ = true;
            refresh_size();
        }
        buffer_.resize(sized_ ? static_cast<std::size_t>(std::min<std::uint64_t>(size_, read_chunk_bytes))
                              : read_chunk_bytes);
    }

    /// Makes `n` bytes available at data(); returns n, or fewer at the end of the file or on a
    /// read error (see error()). Invalidates earlier data() pointers.
    std::size_t want(std::size_t n) {
        if (end_ - begin_ >= n) return n;
        return fill(std::min(n, left(n)));
    }

    /// Bytes of the file from data() on: at least `n` when the file is not a regular file.
    std::size_t left(std::size_t n) {
        if (!sized_) return n;
        const std::uint64_t at = offset();
        if (size_ < at || size_ - at < n) refresh_size();  // grown since?
        const std::uint64_t rest = size_ > at ? size_ - at : 0;
        return static_cast<std::size_t>(std::min<std::uint64_t>(rest, n));
    }

    [[nodiscard]] const std::uint8_t* data() const noexcept { return buffer_.data() + begin_; }
    [[nodiscard]] std::uint8_t* mutable_data() noexcept { return buffer_.data() + begin_; }
    void consume(std::size_t n) noexcept { begin_ += n; }
    /// File offset of data().
    [[nodiscard]] std::uint64_t offset() const noexcept { return base_ + begin_; }
    /// File offset of the first byte not read (at the end: the file's size).
    [[nodiscard]] std::uint64_t read_end() const noexcept { return base_ + end_; }
    /// errno of a failed read, 0 if none.
    [[nodiscard]] int error() const noexcept { return error_; }

private:
    std::size_t fill(std::size_t n) {
        if (buffer_.size() - begin_ < n && begin_ > 0) {
            // Move what is left to the front: room for the whole record behind it.
            std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
            base_ += begin_;
            end_ -= begin_;
            begin_ = 0;
        }
        while (end_ - begin_ < n && !at_end_) {
            if (end_ == buffer_.size()) {
                // Full of real bytes and still short: at most double, never past the record.
                const std::size_t grown = std::min(begin_ + n, std::max(buffer_.size() * 2, min_grow_bytes));
                buffer_.reserve(grown);  // exactly that: resize() alone may allocate up to twice the size
                buffer_.resize(grown);
            }
            errno = 0;
            const std::size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
            end_ += got;
            if (got == 0) {
                if (std::ferror(file_) != 0) {
                    error_ = errno != 0 ? errno : EIO;
                }
                at_end_ = true;
            }
        }
        return std::min(n, end_ - begin_);
    }

    void refresh_size() {
        std::error_code ec;
        const std::uintmax_t now = std::filesystem::file_size(path_, ec);
        if (!ec) size_ = now;
    }

    std::FILE* file_ = nullptr;
    std::filesystem::path path_;
    bool sized_ = false;     // a regular file: size_ holds its size
    std::uint64_t size_ = 0;
    std::vector<std::uint8_t> buffer_;
    std::size_t begin_ = 0;  // first unread byte
    std::size_t end_ = 0;    // one past the last byte read from the file
    std::uint64_t base_ = 0; // file offset of buffer_[0]
    bool at_end_ = false;
    int error_ = 0;
};

struct FileCloser {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

enum class Format { classic, pcapng };

/// How the stored fraction of a second becomes nanoseconds (sf-pcapng.c tstamp_scale_type_t).
enum class Scale { pass_through, up_decimal, down_decimal, up_binary, down_binary };

struct Interface {
    std::uint64_t tsresol = default_tsresol;  // timestamp units per second
    std::uint64_t tsoffset = 0;               // seconds added (signed in the format)
    Scale scale = Scale::up_decimal;
    std::uint64_t factor = 1;                 // for the decimal scales
};

/// Why a read stopped (other than with a packet or a clean end).
enum class Fault { none, truncated, damaged, io };

}  // namespace

struct FileReader::Impl {
    std::string path;
    std::unique_ptr<std::FILE, FileCloser> file;
    Input in;
    Format format = Format::classic;
    bool big = false;      // the file's byte order
    bool swapped = false;  // the file's byte order is not this host's (libpcap's p->swapped)
    int dlt = 0;
    int snapshot = 0;      // libpcap's p->snapshot: 1..INT_MAX
    std::uint32_t max_caplen = maximum_snaplen;

    // classic pcap
    std::size_t record_header_bytes = classic_record_header_bytes;
    bool nano = false;
    enum class Lengths { as_stored, swapped, maybe_swapped } lengths = Lengths::as_stored;

    // pcapng
    std::vector<Interface> interfaces;  // of the current section
    std::uint32_t max_block_bytes = initial_max_block_bytes;

    // reading state
    std::uint64_t packets_read = 0;
    std::uint64_t record_start = 0;  // file offset of the record or block being read
    bool finished = false;           // end or truncated was reported; keep reporting it
    ReadStatus final_status = ReadStatus::end;
    std::string error;                      // the message for `truncated`
    std::optional<CaptureError> failure;    // damaged or unreadable: thrown again and again
    Fault fault = Fault::none;              // set with `reason` by the helpers below
    std::string reason;
    std::optional<std::uint32_t> cut_block_type;  // pcapng: type of the block cut by EOF

    // -- faults

    bool fail(Fault kind, std::string why) {
        fault = kind;
        reason = std::move(why);
        return false;
    }

    /// A short read of `wanted` bytes (got of them): truncated, or an I/O error.
    bool short_read(const char* what, std::size_t wanted, std::size_t got) {
        if (in.error() != 0) {
            return fail(Fault::io, "error reading dump file: " + os_reason(in.error()));
        }
        return fail(Fault::truncated, std::string(what) + "tried to read " + std::to_string(wanted) +
                                          " bytes, only got " + std::to_string(got));
    }

    [[noreturn]] void throw_open_fault() const {
        if (fault == Fault::io) {
            throw CaptureError(CaptureErrorKind::other, "cannot read " + path + ": " + reason);
        }
        throw CaptureError(CaptureErrorKind::not_a_capture,
                           path + " is not a capture labtool can read (pcap or pcapng): " + reason);
    }

    /// Turns the fault set by a helper into next()'s answer: truncated, or a sticky throw.
    ReadStatus read_fault() {
        if (fault == Fault::truncated) {
            error = reason + ": " + where();
            finished = true;
            final_status = ReadStatus::truncated;
            return final_status;
        }
        if (fault == Fault::io) {
            failure.emplace(CaptureErrorKind::other,
                            "cannot read " + path + " past packet " + std::to_string(packets_read) +
                                " (byte " + std::to_string(record_start) + "): " + reason);
        } else {
            // Not a short file but a damaged or unsupported one: it cannot be read on.
            failure.emplace(CaptureErrorKind::not_a_capture,
                            path + " cannot be read past packet " + std::to_string(packets_read) +
                                " (byte " + std::to_string(record_start) + "): " + reason);
        }
        throw *failure;
    }

    [[nodiscard]] std::string where() const {
        const std::string end = " is cut off by the end of the file at byte " + std::to_string(in.read_end());
        const std::string start = std::to_string(record_start);
        if (cut_block_type && *cut_block_type != block_epb && *cut_block_type != block_spb &&
            *cut_block_type != block_pb) {
            return "the block of type " + std::to_string(*cut_block_type) + " before packet " +
                   std::to_string(packets_read + 1) + ", starting at byte " + start + "," + end;
        }
        return "packet " + std::to_string(packets_read + 1) + " starting at byte " + start + end;
    }

    // -- opening

    void open_classic(std::uint32_t magic) {
        const std::size_t got = in.want(classic_file_header_bytes);
        if (got < classic_file_header_bytes) {
            short_read("truncated dump file; file header: ", classic_file_header_bytes, got);
            throw_open_fault();
        }
        const std::uint8_t* h = in.data();
        const std::uint16_t major = load_u16(h + 4, big);
        const std::uint16_t minor = load_u16(h + 6, big);
        const std::uint32_t snaplen = load_u32(h + 16, big);
        const std::uint32_t linktype = load_u32(h + 20, big);
        in.consume(classic_file_header_bytes);

        if (major < classic_version_major) {
            fail(Fault::damaged, "archaic pcap savefile format");
            throw_open_fault();
        }
        if (!((major == classic_version_major && minor <= classic_version_minor) ||
              (major == dgux_version_major && minor == 0))) {
            fail(Fault::damaged, "unsupported pcap savefile version " + std::to_string(major) + "." +
                                     std::to_string(minor));
            throw_open_fault();
        }
        // Before 2.3 caplen and len were stored the other way round; some 2.3 writers did both.
        if (major == dgux_version_major || minor < 3) {
            lengths = Lengths::swapped;
        } else if (minor == 3) {
            lengths = Lengths::maybe_swapped;
        }

        dlt = dlt_from_linktype(linktype & linktype_mask);
        max_caplen = max_caplen_for_dlt(dlt);
        snapshot = adjusted_snapshot(snaplen);
        nano = magic == magic_nano;
        if (magic == magic_kuznetzov) {
            record_header_bytes = kuznetzov_record_header_bytes;
            if (dlt == DLT_EN10MB) {
                // Possibly captured in cooked mode with a made-up Ethernet header in front.
                snapshot = snapshot <= std::numeric_limits<int>::max() - ethernet_header_bytes
                               ? snapshot + ethernet_header_bytes
                               : std::numeric_limits<int>::max();
            }
        }
    }

    /// libpcap's pcap_adjust_snapshot: 0 or above INT_MAX means "the most this link type has".
    [[nodiscard]] int adjusted_snapshot(std::uint32_t snaplen) const {
        if (snaplen == 0 || snaplen > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) {
            return static_cast<int>(max_caplen);
        }
        return static_cast<int>(snaplen);
    }

    void open_pcapng() {
        // The first block must be a Section Header Block whose byte-order magic tells the order.
        std::size_t got = in.want(12);
        if (got < 12) {
            if (in.error() != 0) {
                short_read("", 12, got);
                throw_open_fault();
            }
            fail(Fault::damaged, "unknown file format");
            throw_open_fault();
        }
        const std::uint8_t* h = in.data();
        if (load_u32(h + 8, true) == byte_order_magic) {
            big = true;
        } else if (load_u32(h + 8, false) == byte_order_magic) {
            big = false;
        } else {
            fail(Fault::damaged, "unknown file format");
            throw_open_fault();
        }
        swapped = big != host_is_big_endian();
        const std::uint32_t total = load_u32(h + 4, big);
        if (total < block_header_bytes + shb_fixed_bytes + block_trailer_bytes || total > max_shb_bytes) {
            fail(Fault::damaged, "Section Header Block in pcapng dump file has invalid length " +
                                     std::to_string(total));
            throw_open_fault();
        }
        // Like libpcap, the first SHB is read as far as its length says (neither its trailer
        // nor a multiple of 4 is checked), and only its version is looked at.
        got = in.want(total);
        if (got < total) {
            short_read("truncated pcapng dump file; ", total - 12, got > 12 ? got - 12 : 0);
            throw_open_fault();
        }
        const std::uint16_t major = load_u16(in.data() + 12, big);
        const std::uint16_t minor = load_u16(in.data() + 14, big);
        in.consume(total);
        if (!(major == pcapng_version_major && (minor == 0 || minor == 2))) {
            fail(Fault::damaged, "unsupported pcapng savefile version " + std::to_string(major) + "." +
                                     std::to_string(minor));
            throw_open_fault();
        }

        // Then blocks up to the first Interface Description Block, which sets the link type.
        for (;;) {
            Block b;
            const BlockResult r = read_block(b);
            if (r == BlockResult::end) {
                fail(Fault::damaged, "the capture file has no Interface Description Blocks");
                throw_open_fault();
            }
            if (r == BlockResult::fault) throw_open_fault();
            if (b.type == block_epb || b.type == block_spb || b.type == block_pb) {
                fail(Fault::damaged, "the capture file has a packet block before any Interface Description Blocks");
                throw_open_fault();
            }
            if (b.type != block_idb) {
                in.consume(b.total);
                continue;  // any other block (even another SHB) is skipped unread, as libpcap does
            }
            if (b.body_bytes < idb_fixed_bytes) {
                too_short(b.type);
                throw_open_fault();
            }
            const std::uint16_t linktype = load_u16(b.body, big);
            const std::uint32_t snaplen = load_u32(b.body + 4, big);
            if (!add_interface(b.body + idb_fixed_bytes, b.body_bytes - idb_fixed_bytes)) throw_open_fault();
            in.consume(b.total);
            dlt = dlt_from_linktype(linktype);
            max_caplen = max_caplen_for_dlt(dlt);
            snapshot = adjusted_snapshot(snaplen);
            const std::uint64_t for_snaplen = block_header_bytes + epb_fixed_bytes +
                                              std::uint64_t{max_caplen} + max_option_block_bytes +
                                              block_trailer_bytes;
            max_block_bytes = static_cast<std::uint32_t>(std::max<std::uint64_t>(max_block_bytes, for_snaplen));
            return;
        }
    }

    // -- pcapng blocks

    enum class BlockResult { ok, end, fault };

    struct Block {
        std::uint32_t type = 0;
        std::uint32_t total = 0;
        std::uint8_t* body = nullptr;  // after type and length; valid until the next read
        std::size_t body_bytes = 0;    // without the trailer
    };

    /// Reads one whole block into the buffer (not consumed: the caller consumes b.total).
    BlockResult read_block(Block& b) {
        record_start = in.offset();
        cut_block_type.reset();
        std::size_t got = in.want(block_header_bytes);
        if (got == 0 && in.error() == 0) return BlockResult::end;
        if (got < block_header_bytes) {
            short_read("truncated pcapng dump file; ", block_header_bytes, got);
            return BlockResult::fault;
        }
        b.type = load_u32(in.data(), big);
        b.total = load_u32(in.data() + 4, big);
        if (b.total < min_block_bytes) {
            fail(Fault::damaged, "block in pcapng dump file has a length of " + std::to_string(b.total) +
                                     " < " + std::to_string(min_block_bytes));
            return BlockResult::fault;
        }
        if (b.total % 4 != 0) {
            fail(Fault::damaged, "block in pcapng dump file has a length of " + std::to_string(b.total) +
                                     " that is not a multiple of 4");
            return BlockResult::fault;
        }
        if (b.total > max_block_bytes) {
            fail(Fault::damaged, "pcapng block size " + std::to_string(b.total) + " > maximum " +
                                     std::to_string(max_block_bytes));
            return BlockResult::fault;
        }
        got = in.want(b.total);
        if (got < b.total) {
            cut_block_type = b.type;
            short_read("truncated pcapng dump file; ", b.total - block_header_bytes, got - block_header_bytes);
            return BlockResult::fault;
        }
        std::uint8_t* p = in.mutable_data();
        if (load_u32(p + b.total - block_trailer_bytes, big) != b.total) {
            fail(Fault::damaged, "block total length in header and trailer don't match");
            return BlockResult::fault;
        }
        b.body = p + block_header_bytes;
        b.body_bytes = b.total - min_block_bytes;
        return BlockResult::ok;
    }

    bool too_short(std::uint32_t type) {
        return fail(Fault::damaged, "block of type " + std::to_string(type) + " in pcapng dump file is too short");
    }

    /// Reads an IDB's options (if_tsresol, if_tsoffset) and appends the interface.
    bool add_interface(const std::uint8_t* opts, std::size_t size) {
        if (interfaces.size() >= max_interfaces) {
            return fail(Fault::damaged, "more than " + std::to_string(max_interfaces) + " interfaces in one section");
        }
        Interface iface;
        bool binary = false;
        bool saw_tsresol = false;
        bool saw_tsoffset = false;
        std::size_t at = 0;
        while (at != size) {
            if (size - at < 4) return too_short(block_idb);
            const std::uint16_t code = load_u16(opts + at, big);
            const std::uint16_t length = load_u16(opts + at + 2, big);
            at += 4;
            if (size - at < pad4(length)) return too_short(block_idb);
            const std::uint8_t* value = opts + at;
            at += pad4(length);
            if (code == opt_endofopt) {
                if (length != 0) {
                    return fail(Fault::damaged, "Interface Description Block has opt_endofopt option with length " +
                                                    std::to_string(length) + " != 0");
                }
                break;
            }
            if (code == if_tsresol) {
                if (length != 1) {
                    return fail(Fault::damaged, "Interface Description Block has if_tsresol option with length " +
                                                    std::to_string(length) + " != 1");
                }
                if (saw_tsresol) {
                    return fail(Fault::damaged, "Interface Description Block has more than one if_tsresol option");
                }
                saw_tsresol = true;
                const unsigned exponent = value[0] & ~tsresol_binary_flag;
                if ((value[0] & tsresol_binary_flag) != 0) {
                    if (exponent > max_tsresol_binary_exponent) {
                        return fail(Fault::damaged, "Interface Description Block if_tsresol option resolution 2^-" +
                                                        std::to_string(exponent) + " is too high");
                    }
                    binary = true;
                    iface.tsresol = std::uint64_t{1} << exponent;
                } else {
                    if (value[0] > max_tsresol_decimal_exponent) {
                        return fail(Fault::damaged, "Interface Description Block if_tsresol option resolution 10^-" +
                                                        std::to_string(value[0]) + " is too high");
                    }
                    binary = false;
                    iface.tsresol = 1;
                    for (unsigned i = 0; i < value[0]; ++i) iface.tsresol *= 10;
                }
            } else if (code == if_tsoffset) {
                if (length != 8) {
                    return fail(Fault::damaged, "Interface Description Block has if_tsoffset option with length " +
                                                    std::to_string(length) + " != 8");
                }
                if (saw_tsoffset) {
                    return fail(Fault::damaged, "Interface Description Block has more than one if_tsoffset option");
                }
                saw_tsoffset = true;
                iface.tsoffset = load_u64(value, big);
            }
        }
        if (iface.tsresol == nanos_per_second) {
            iface.scale = Scale::pass_through;
        } else if (iface.tsresol > nanos_per_second) {
            iface.scale = binary ? Scale::down_binary : Scale::down_decimal;
            iface.factor = binary ? 1 : iface.tsresol / nanos_per_second;
        } else {
            iface.scale = binary ? Scale::up_binary : Scale::up_decimal;
            iface.factor = binary ? 1 : nanos_per_second / iface.tsresol;
        }
        interfaces.push_back(iface);
        return true;
    }

    /// A pcapng timestamp (units since 1970 on `iface`) in seconds and nanoseconds, computed as
    /// libpcap 1.10 computes it with nanosecond precision (unsigned 64-bit arithmetic, so the
    /// fraction of a resolution finer than 2^-34 s wraps exactly as there); only the seconds are
    /// clamped to +-max_seconds where libpcap would wrap them.
    static Timestamp pcapng_time(const Interface& iface, std::uint64_t t) {
        const std::uint64_t whole = t / iface.tsresol;
        std::uint64_t frac = t % iface.tsresol;
        switch (iface.scale) {
            case Scale::pass_through: break;
            case Scale::up_decimal: frac *= iface.factor; break;
            case Scale::down_decimal: frac /= iface.factor; break;
            case Scale::up_binary:
            case Scale::down_binary: frac = frac * nanos_per_second / iface.tsresol; break;
        }
        return Timestamp{add_clamped(whole, static_cast<std::int64_t>(iface.tsoffset)),
                         static_cast<std::uint32_t>(frac)};
    }

    ReadStatus next_pcapng(Packet& out) {
        for (;;) {
            Block b;
            const BlockResult r = read_block(b);
            if (r == BlockResult::end) {
                finished = true;
                final_status = ReadStatus::end;
                return final_status;
            }
            if (r == BlockResult::fault) return read_fault();

            std::uint32_t interface_id = 0;
            std::uint32_t caplen = 0;
            std::uint32_t len = 0;
            std::uint64_t t = 0;
            std::size_t fixed = 0;
            switch (b.type) {
                case block_epb:
                case block_pb:  // the same layout but a 16-bit interface (then a drop count)
                    fixed = b.type == block_epb ? epb_fixed_bytes : pb_fixed_bytes;
                    if (b.body_bytes < fixed) {
                        too_short(b.type);
                        return read_fault();
                    }
                    interface_id = b.type == block_epb ? load_u32(b.body, big) : load_u16(b.body, big);
                    t = std::uint64_t{load_u32(b.body + 4, big)} << 32 | load_u32(b.body + 8, big);
                    caplen = load_u32(b.body + 12, big);
                    len = load_u32(b.body + 16, big);
                    break;
                case block_spb:
                    // No timestamp and no captured length: the snaplen cut the packet, if any.
                    if (b.body_bytes < spb_fixed_bytes) {
                        too_short(b.type);
                        return read_fault();
                    }
                    len = load_u32(b.body, big);
                    caplen = std::min(len, static_cast<std::uint32_t>(snapshot));
                    fixed = spb_fixed_bytes;
                    break;
                case block_idb:
                    if (!next_interface(b)) return read_fault();
                    in.consume(b.total);
                    continue;
                case block_shb:
                    if (!next_section(b)) return read_fault();
                    in.consume(b.total);
                    continue;
                default:
                    in.consume(b.total);  // statistics, name resolution, custom blocks, ...
                    continue;
            }

            if (interface_id >= interfaces.size()) {
                fail(Fault::damaged, "a packet arrived on interface " + std::to_string(interface_id) +
                                         ", but there's no Interface Description Block for that interface");
                return read_fault();
            }
            if (caplen > static_cast<std::uint32_t>(snapshot)) {
                fail(Fault::damaged, "invalid packet capture length " + std::to_string(caplen) +
                                         ", bigger than snaplen of " + std::to_string(snapshot));
                return read_fault();
            }
            if (b.body_bytes - fixed < caplen) {
                too_short(b.type);
                return read_fault();
            }
            std::uint8_t* data = b.body + fixed;
            out.ts = pcapng_time(interfaces[interface_id], t);
            out.caplen = caplen;
            out.len = len;
            out.data = std::span<const std::uint8_t>(data, caplen);
            if (swapped) swap_cooked_can_id(dlt, data, caplen, len);
            in.consume(b.total);
            ++packets_read;
            return ReadStatus::packet;
        }
    }

    bool next_interface(const Block& b) {
        if (b.body_bytes < idb_fixed_bytes) return too_short(b.type);
        const std::uint16_t linktype = load_u16(b.body, big);
        const std::uint32_t snaplen = load_u32(b.body + 4, big);
        // labtool, like libpcap 1.10, reads one link type per file (DLT values compared: see
        // the differences at the top).
        if (dlt_from_linktype(linktype) != dlt) {
            return fail(Fault::damaged, "an interface has a type " + std::to_string(linktype) +
                                            " different from the type of the first interface");
        }
        if (adjusted_snapshot(snaplen) != snapshot) {
            return fail(Fault::damaged, "an interface has a snapshot length " + std::to_string(snaplen) +
                                            " different from the snapshot length of the first interface");
        }
        return add_interface(b.body + idb_fixed_bytes, b.body_bytes - idb_fixed_bytes);
    }

    bool next_section(const Block& b) {
        if (b.body_bytes < shb_fixed_bytes) return too_short(b.type);
        // Read in the current byte order: libpcap 1.10 refuses a change of order mid-file.
        const std::uint32_t magic = load_u32(b.body, big);
        if (magic != byte_order_magic) {
            const bool other_order = load_u32(b.body, !big) == byte_order_magic;
            return fail(Fault::damaged, other_order ? "the file has sections with different byte orders"
                                                    : "the file has a section with a bad byte order magic field");
        }
        const std::uint16_t major = load_u16(b.body + 4, big);
        if (major != pcapng_version_major) {
            return fail(Fault::damaged, "unknown pcapng savefile major version number " + std::to_string(major));
        }
        interfaces.clear();  // a new section has interfaces of its own
        return true;
    }

    // -- classic pcap records

    ReadStatus next_classic(Packet& out) {
        record_start = in.offset();
        std::size_t got = in.want(record_header_bytes);
        if (got < record_header_bytes) {
            if (got == 0 && in.error() == 0) {
                finished = true;
                final_status = ReadStatus::end;
                return final_status;
            }
            short_read("truncated dump file; record header: ", record_header_bytes, got);
            return read_fault();
        }
        const std::uint8_t* h = in.data();
        // Unsigned 32-bit seconds and fraction (see the differences at the top).
        const std::uint32_t sec = load_u32(h, big);
        const std::uint32_t frac = load_u32(h + 4, big);
        std::uint32_t caplen = load_u32(h + 8, big);
        std::uint32_t len = load_u32(h + 12, big);
        if (lengths == Lengths::swapped || (lengths == Lengths::maybe_swapped && caplen > len)) {
            std::swap(caplen, len);
        }
        if (caplen > max_caplen) {
            fail(Fault::damaged, caplen > static_cast<std::uint32_t>(snapshot)
                                     ? "invalid packet capture length " + std::to_string(caplen) +
                                           ", bigger than snaplen of " + std::to_string(snapshot)
                                     : "invalid packet capture length " + std::to_string(caplen) +
                                           ", bigger than maximum of " + std::to_string(max_caplen));
            return read_fault();
        }
        const std::size_t total = record_header_bytes + caplen;
        got = in.want(total);
        if (got < total) {
            if (in.error() != 0) {
                short_read("", total, got);
            } else {
                fail(Fault::truncated, "truncated dump file; tried to read " + std::to_string(caplen) +
                                           " captured bytes, only got " + std::to_string(got - record_header_bytes));
            }
            return read_fault();
        }
        std::uint8_t* data = in.mutable_data() + record_header_bytes;
        // A record above the file's snaplen (old Solaris bufmod, or a damaged header) is cut to
        // it, as libpcap does: readers may size their buffers by the snaplen.
        caplen = std::min(caplen, static_cast<std::uint32_t>(snapshot));
        const std::int64_t nanos = nano ? std::int64_t{frac} : std::int64_t{frac} * nanos_per_micro;
        out.ts = normalized(sec, nanos);
        out.caplen = caplen;
        out.len = len;
        out.data = std::span<const std::uint8_t>(data, caplen);
        if (swapped) swap_cooked_can_id(dlt, data, caplen, len);
        in.consume(total);
        ++packets_read;
        return ReadStatus::packet;
    }
};

FileReader::FileReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
    Impl& impl = *impl_;
    impl.path = path;

    // fopen succeeds on a directory on POSIX; say what it is instead of "not a capture".
    std::error_code ec;
    if (std::filesystem::is_directory(platform::from_utf8(path), ec)) {
        throw CaptureError(CaptureErrorKind::file_not_found, "cannot open " + path + ": " + os_reason(EISDIR));
    }
    errno = 0;
    impl.file.reset(platform::fopen_utf8(path, "rb"));
    if (!impl.file) {
        const int saved = errno != 0 ? errno : ENOENT;
        throw CaptureError(CaptureErrorKind::file_not_found, "cannot open " + path + ": " + os_reason(saved));
    }
    // Our own 1 MiB reads go straight to the OS: no second copy through stdio's buffer.
    std::setvbuf(impl.file.get(), nullptr, _IONBF, 0);
    impl.in.attach(impl.file.get(), platform::from_utf8(path));

    const std::size_t got = impl.in.want(4);
    if (got < 4) {
        impl.short_read("truncated dump file; file header: ", 4, got);
        impl.throw_open_fault();
    }
    // The first four bytes tell the format: a pcap magic in either byte order, or the pcapng
    // Section Header Block type (a palindrome, the same in both orders).
    const std::uint8_t* magic_bytes = impl.in.data();
    if (load_u32(magic_bytes, true) == block_shb) {
        impl.format = Format::pcapng;
        impl.open_pcapng();
    } else {
        bool known = false;
        for (const bool big : {false, true}) {
            const std::uint32_t magic = load_u32(magic_bytes, big);
            if (magic == magic_micro || magic == magic_nano || magic == magic_kuznetzov) {
                impl.big = big;
                impl.swapped = big != host_is_big_endian();
                impl.format = Format::classic;
                impl.open_classic(magic);
                known = true;
                break;
            }
        }
        if (!known) {
            impl.fail(Fault::damaged, "unknown file format");
            impl.throw_open_fault();
        }
    }
    impl.record_start = impl.in.offset();
}

FileReader::~FileReader() = default;

int FileReader::link_type() const noexcept { return impl_->dlt; }

int FileReader::snaplen() const noexcept { return impl_->snapshot; }

ReadStatus FileReader::next(Packet& out) {
    Impl& impl = *impl_;
    if (impl.failure) throw *impl.failure;
    if (impl.finished) return impl.final_status;
    return impl.format == Format::classic ? impl.next_classic(out) : impl.next_pcapng(out);
}

const std::string& FileReader::error() const noexcept { return impl_->error; }

}  // namespace labtool::capture
