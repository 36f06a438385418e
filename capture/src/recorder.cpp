// Recorder: classic nanosecond pcap through pcap_dump, readable by Wireshark, tshark, tcpdump.
#ifdef _WIN32
// Before any header that may pull in <windows.h> (pcap.h does, via winsock2.h): keep its
// min/max macros and its `interface` macro (objbase.h) away from std::min and our names.
#define NOMINMAX
#define WIN32_LEAN_AND_MEAN
#endif

#include "labtool/capture/recorder.hpp"

#include "labtool/capture/capture_error.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace labtool::capture {

namespace {

// LINKTYPE_RAW as stored in files. Callers pass DLT_* values (pcap_datalink), where raw IP is
// DLT_RAW (12, or 14 on OpenBSD); libpcap refuses 101 as a DLT, so accept the file value too.
constexpr int linktype_raw = 101;

}  // namespace

struct Recorder::Impl {
    std::string path;
    pcap_t* dead = nullptr;            // pcap_open_dead: carries link type and snaplen
    pcap_dumper_t* dumper = nullptr;
    std::uint32_t snaplen = 0;
    std::uint64_t written = 0;

    ~Impl() {
        // pcap_dump_close flushes and closes; it reports nothing, so nothing can escape.
        if (dumper != nullptr) {
            pcap_dump_close(dumper);
        }
        if (dead != nullptr) {
            pcap_close(dead);
        }
    }
};

Recorder::Recorder(const std::string& path, int link_type, int snaplen)
    : impl_(std::make_unique<Impl>()) {
    impl_->path = path;
    impl_->snaplen = snaplen > 0 ? static_cast<std::uint32_t>(snaplen) : 0;
    const int dlt = link_type == linktype_raw ? DLT_RAW : link_type;
    impl_->dead =
        pcap_open_dead_with_tstamp_precision(dlt, snaplen, PCAP_TSTAMP_PRECISION_NANO);
    if (impl_->dead == nullptr) {
        throw CaptureError(CaptureErrorKind::other,
                           "cannot write " + path + ": libpcap could not set up link type " +
                               std::to_string(link_type));
    }
    errno = 0;
    impl_->dumper = pcap_dump_open(impl_->dead, path.c_str());
    if (impl_->dumper == nullptr) {
        const int saved = errno;
        // libpcap's text is "PATH: reason"; prefer the bare OS reason when we have it.
        const std::string reason =
            saved != 0 ? std::generic_category().message(saved) : pcap_geterr(impl_->dead);
        throw CaptureError(CaptureErrorKind::other, "cannot write " + path + ": " + reason);
    }
}

Recorder::~Recorder() = default;

void Recorder::write(const Packet& packet) {
    pcap_pkthdr header{};
    header.ts.tv_sec = static_cast<decltype(header.ts.tv_sec)>(packet.ts.sec);
    // A nanosecond file: libpcap takes the nanoseconds in tv_usec. Keeping them makes a replay
    // show exactly the times the live run showed.
    header.ts.tv_usec = static_cast<decltype(header.ts.tv_usec)>(packet.ts.nsec);
    // Never claim more bytes than we hold, nor more than the file's snaplen promises readers.
    std::uint32_t caplen = packet.caplen;
    if (packet.data.size() < caplen) {
        caplen = static_cast<std::uint32_t>(packet.data.size());
    }
    if (impl_->snaplen > 0) {
        caplen = std::min(caplen, impl_->snaplen);
    }
    header.caplen = caplen;
    header.len = std::max(packet.len, caplen);
    pcap_dump(reinterpret_cast<u_char*>(impl_->dumper), &header, packet.data.data());
    ++impl_->written;
}

void Recorder::flush() {
    if (pcap_dump_flush(impl_->dumper) != 0) {
        const int saved = errno;
        throw CaptureError(CaptureErrorKind::other,
                           "cannot write " + impl_->path + ": " +
                               (saved != 0 ? std::generic_category().message(saved)
                                           : std::string("write failed")));
    }
}

std::uint64_t Recorder::packets_written() const noexcept { return impl_->written; }

}  // namespace labtool::capture
