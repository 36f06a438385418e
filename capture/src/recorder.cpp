// Recorder: classic pcap (libpcap format 2.4, nanosecond magic a1b23c4d, this host's byte order,
// as libpcap's pcap_dump writes it) by our own writer, so recording needs no wpcap.dll for the
// file. Records are gathered in one buffer and written in large blocks; every write is checked.
#include "labtool/capture/recorder.hpp"

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
// Records are gathered here and written in blocks: one write(2) per several large packets.
constexpr std::size_t buffer_bytes = 256 * 1024;
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
    std::string path;
    std::string warning;  // something the user should hear, not worth failing for
    std::FILE* file = nullptr;
    std::vector<std::uint8_t> buffer;
    std::uint32_t snaplen = 0;     // as written in the file header
    std::uint32_t max_caplen = 0;  // min(snaplen, what readers accept for the link type)
    std::uint64_t written = 0;
    bool broken = false;           // a write failed and was reported: nothing more is written

    ~Impl() {
        // Flush and close; the destructor cannot report, so a failure is dropped here
        // (callers that care call flush() first).
        if (file != nullptr) {
            if (!broken && !buffer.empty()) {
                (void)std::fwrite(buffer.data(), 1, buffer.size(), file);
            }
            std::fclose(file);
        }
    }

    [[noreturn]] void fail(int error_number) {
        broken = true;
        buffer.clear();
        const std::string reason =
            error_number != 0 ? std::generic_category().message(error_number) : std::string("write failed");
        throw CaptureError(CaptureErrorKind::other, "cannot write " + path + ": " + reason);
    }

    /// Hands `size` bytes to the OS; throws with the OS reason (ENOSPC, EIO, ...) when it fails.
    void put(const void* data, std::size_t size) {
        if (size == 0) return;
        errno = 0;
        if (std::fwrite(data, 1, size, file) != size) {
            fail(errno);
        }
    }

    void drain() {
        put(buffer.data(), buffer.size());
        buffer.clear();
    }
};

Recorder::Recorder(const std::string& path, int link_type, int snaplen) : impl_(std::make_unique<Impl>()) {
    Impl& impl = *impl_;
    impl.path = path;
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

    errno = 0;
    impl.file = platform::fopen_utf8(path, "wb");
    if (impl.file == nullptr) {
        const int saved = errno;
        throw CaptureError(CaptureErrorKind::other,
                           "cannot write " + path + ": " +
                               (saved != 0 ? std::generic_category().message(saved) : std::string("cannot create the file")));
    }
    // Started with sudo: the recording belongs to the user who typed it (on the open file).
    if (const std::string why = platform::give_to_sudo_user(impl.file); !why.empty())
        impl.warning = "could not give " + path + " to the sudo user: " + why;
    // Our buffer does the batching; stdio's would only copy everything once more.
    std::setvbuf(impl.file, nullptr, _IONBF, 0);
    impl.buffer.reserve(buffer_bytes);

    put_u32(impl.buffer, magic_nano);
    put_u16(impl.buffer, version_major);
    put_u16(impl.buffer, version_minor);
    put_u32(impl.buffer, 0);  // thiszone: always 0
    put_u32(impl.buffer, 0);  // sigfigs: always 0
    put_u32(impl.buffer, impl.snaplen);
    put_u32(impl.buffer, static_cast<std::uint32_t>(linktype));
    static_assert(file_header_bytes == 24);
    // The header reaches the file now, so a path that cannot be written fails here, not later.
    impl.drain();
}

Recorder::~Recorder() = default;

void Recorder::write(const Packet& packet) {
    Impl& impl = *impl_;
    if (impl.broken) return;
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

    if (impl.buffer.size() + record_header_bytes + caplen > buffer_bytes) {
        impl.drain();
    }
    put_u32(impl.buffer, sec);
    put_u32(impl.buffer, nsec);
    put_u32(impl.buffer, caplen);
    put_u32(impl.buffer, len);
    if (record_header_bytes + caplen > buffer_bytes) {
        impl.drain();  // a packet larger than the buffer goes straight out
        impl.put(packet.data.data(), caplen);
    } else {
        impl.buffer.insert(impl.buffer.end(), packet.data.data(), packet.data.data() + caplen);
    }
    ++impl.written;
}

void Recorder::flush() {
    Impl& impl = *impl_;
    if (impl.broken) return;
    impl.drain();
    errno = 0;
    if (std::fflush(impl.file) != 0) {
        impl.fail(errno);
    }
}

std::uint64_t Recorder::packets_written() const noexcept { return impl_->written; }

const std::string& Recorder::warning() const noexcept { return impl_->warning; }

}  // namespace labtool::capture
