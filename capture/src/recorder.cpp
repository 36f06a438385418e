// Recorder: classic pcap (libpcap format 2.4, nanosecond magic a1b23c4d, this host's byte order,
// as libpcap's pcap_dump writes it) by our own writer, so recording needs no wpcap.dll for the
// file. Records are gathered in one buffer and written in large blocks of whole records
// (record_file.hpp); every write is checked.
#include "labtool/capture/recorder.hpp"
#include "record_file.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/file_reader.hpp"
#include "labtool/platform/files.hpp"
#include "labtool/platform/process.hpp"

#include <pcap/dlt.h>  // DLT_RAW of this platform (a macro only)

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <system_error>
#include <vector>

namespace labtool::capture {

namespace {

constexpr std::uint32_t magic_nano = 0xA1B23C4D;
constexpr std::uint16_t version_major = 2;
constexpr std::uint16_t version_minor = 4;
constexpr std::size_t file_header_bytes = 24;
constexpr std::size_t record_header_bytes = 16;
// LINKTYPE_RAW as stored in files. Callers pass DLT_* values (pcap_datalink), where raw IP is
// DLT_RAW (12, or 14 on OpenBSD); a caller may also hold the file value, so accept it too.
constexpr int linktype_raw = 101;
constexpr std::uint32_t max_nanoseconds = 999'999'999;

/// Appends `v` in this host's byte order (libpcap writes pcap files that way; readers look at
/// the magic to learn the order).
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    std::uint8_t bytes[4];
    std::memcpy(bytes, &v, sizeof v);
    out.insert(out.end(), bytes, bytes + 4);
}

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    std::uint8_t bytes[2];
    std::memcpy(bytes, &v, sizeof v);
    out.insert(out.end(), bytes, bytes + 2);
}

}  // namespace

struct Recorder::Impl {
    std::optional<detail::RecordFile> out;
    std::uint32_t snaplen = 0;     // as written in the file header
    std::uint32_t max_caplen = 0;  // min(snaplen, what readers accept for the link type)
};

Recorder::Recorder(const std::string& path, int link_type, int snaplen) : impl_(std::make_unique<Impl>()) {
    Impl& impl = *impl_;
    const int dlt = link_type == linktype_raw ? DLT_RAW : link_type;
    const int linktype = link_type == linktype_raw ? linktype_raw : linktype_from_dlt(link_type);
    if (linktype < 0) {
        throw CaptureError(CaptureErrorKind::other, "cannot write " + path + ": link type " +
                                                        std::to_string(link_type) +
                                                        " has no LINKTYPE value a pcap file can hold");
    }
    // Without a snaplen the file says "the most this link type has", as tcpdump writes it.
    const std::uint32_t largest = max_caplen_for_dlt(dlt);
    impl.snaplen = snaplen > 0 ? static_cast<std::uint32_t>(snaplen) : largest;
    // libpcap refuses a record above max_snaplen_for_dlt whatever the header says.
    impl.max_caplen = std::min(impl.snaplen, largest);

    impl.out.emplace(path);  // throws when it cannot be opened (links are refused)
    std::vector<std::uint8_t>& header = impl.out->buffer();

    put_u32(header, magic_nano);
    put_u16(header, version_major);
    put_u16(header, version_minor);
    put_u32(header, 0);  // thiszone: always 0
    put_u32(header, 0);  // sigfigs: always 0
    put_u32(header, impl.snaplen);
    put_u32(header, static_cast<std::uint32_t>(linktype));
    static_assert(file_header_bytes == 24);
    impl.out->end_record(false);
    // The header reaches the file now, so a path that cannot be written fails here, not later.
    impl.out->drain();
}

Recorder::~Recorder() = default;

void Recorder::write(const Packet& packet) {
    Impl& impl = *impl_;
    if (impl.out->broken()) return;
    // Never claim more bytes than we hold, nor more than the file's snaplen promises readers.
    std::uint32_t caplen = packet.caplen;
    if (packet.data.size() < caplen) {
        caplen = static_cast<std::uint32_t>(packet.data.size());
    }
    caplen = std::min(caplen, impl.max_caplen);
    const std::uint32_t len = std::max(packet.len, caplen);

    // The seconds field is a signed 32-bit number for libpcap 1.10 (until 2038-01-19): earlier
    // than 1970 is written as 0, later than 2038 as its last second.
    std::uint32_t sec = 0;
    std::uint32_t nsec = 0;
    if (packet.ts.sec > std::numeric_limits<std::int32_t>::max()) {
        sec = static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max());
        nsec = max_nanoseconds;
    } else if (packet.ts.sec >= 0) {
        sec = static_cast<std::uint32_t>(packet.ts.sec);
        nsec = std::min(packet.ts.nsec, max_nanoseconds);
    }

    // The whole record goes into the buffer, and the buffer out in whole records only.
    impl.out->make_room(record_header_bytes + caplen);
    std::vector<std::uint8_t>& buffer = impl.out->buffer();
    put_u32(buffer, sec);
    put_u32(buffer, nsec);
    put_u32(buffer, caplen);
    put_u32(buffer, len);
    buffer.insert(buffer.end(), packet.data.data(), packet.data.data() + caplen);
    impl.out->end_record(true);
}

void Recorder::flush() { impl_->out->flush(); }

std::uint64_t Recorder::packets_written() const noexcept { return impl_->out->packets(); }

const std::string& Recorder::warning() const noexcept { return impl_->out->warning(); }

std::error_code Recorder::error() const noexcept { return impl_->out->error(); }

}  // namespace labtool::capture
