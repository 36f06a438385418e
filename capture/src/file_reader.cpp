// FileReader: saved pcap / pcapng files through libpcap, always with nanosecond timestamps.
#ifdef _WIN32
// Before any header that may pull in <windows.h> (pcap.h does, via winsock2.h): keep its
// min/max macros and its `interface` macro (objbase.h) away from std::min and our names.
#define NOMINMAX
#define WIN32_LEAN_AND_MEAN
#endif

#include "labtool/capture/file_reader.hpp"

#include "labtool/capture/capture_error.hpp"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace labtool::capture {

namespace {

// libpcap words every short read of a record "truncated ..." (sf-pcap.c: "truncated dump
// file; ...", sf-pcapng.c: "truncated pcapng dump file; ..."); other read errors (an invalid
// record length, a pcapng interface with a second link type) mean a damaged file instead.
constexpr const char* truncated_word = "truncated";

std::string os_reason(int error_number) {
    return std::generic_category().message(error_number);
}

// Fails with file_not_found unless `path` names a regular-enough file this process may read.
// libpcap would say the same thing less clearly ("... : No such file or directory").
void check_readable(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw CaptureError(CaptureErrorKind::file_not_found,
                           "cannot open " + path + ": " + os_reason(EISDIR));
    }
    errno = 0;
    std::FILE* probe = std::fopen(path.c_str(), "rb");
    if (probe == nullptr) {
        const int saved = errno != 0 ? errno : ENOENT;
        throw CaptureError(CaptureErrorKind::file_not_found,
                           "cannot open " + path + ": " + os_reason(saved));
    }
    std::fclose(probe);
}

}  // namespace

struct FileReader::Impl {
    std::string path;
    pcap_t* handle = nullptr;
    std::uintmax_t file_size = 0;
    long record_start = 0;          // file offset of the record next() reads next
    std::uint64_t packets_read = 0;
    bool finished = false;          // end or truncated was reported; keep reporting it
    ReadStatus final_status = ReadStatus::end;
    std::string error;

    ~Impl() {
        if (handle != nullptr) {
            pcap_close(handle);
        }
    }

    // Offset of libpcap's stdio stream, or -1 when it cannot be told (e.g. Npcap across CRTs).
    [[nodiscard]] long position() const {
        std::FILE* file = pcap_file(handle);
        return file != nullptr ? std::ftell(file) : -1L;
    }

    ReadStatus finish(ReadStatus status) {
        finished = true;
        final_status = status;
        return status;
    }

    [[nodiscard]] std::string where() const {
        return "packet " + std::to_string(packets_read + 1) + " starting at byte " +
               std::to_string(record_start) + " is cut off by the end of the file at byte " +
               std::to_string(file_size);
    }
};

FileReader::FileReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
    impl_->path = path;
    check_readable(path);

    std::error_code ec;
    impl_->file_size = std::filesystem::file_size(path, ec);

    char errbuf[PCAP_ERRBUF_SIZE] = {};
    impl_->handle =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (impl_->handle == nullptr) {
        throw CaptureError(CaptureErrorKind::not_a_capture,
                           path + " is not a capture libpcap can read (pcap or pcapng): " +
                               errbuf);
    }
    impl_->record_start = impl_->position();
}

FileReader::~FileReader() = default;

int FileReader::link_type() const noexcept { return pcap_datalink(impl_->handle); }

int FileReader::snaplen() const noexcept { return pcap_snapshot(impl_->handle); }

ReadStatus FileReader::next(Packet& out) {
    Impl& impl = *impl_;
    if (impl.finished) {
        return impl.final_status;
    }

    pcap_pkthdr* header = nullptr;
    const u_char* bytes = nullptr;
    const int rc = pcap_next_ex(impl.handle, &header, &bytes);

    if (rc == 1) {
        out.ts.sec = static_cast<std::int64_t>(header->ts.tv_sec);
        // Opened with PCAP_TSTAMP_PRECISION_NANO: libpcap scales micro files, tv_usec holds ns.
        out.ts.nsec = static_cast<std::uint32_t>(header->ts.tv_usec);
        out.caplen = header->caplen;
        out.len = header->len;
        out.data = std::span<const std::uint8_t>(bytes, header->caplen);
        ++impl.packets_read;
        const long pos = impl.position();
        if (pos >= 0) {
            impl.record_start = pos;
        }
        return ReadStatus::packet;
    }

    if (rc == PCAP_ERROR_BREAK) {
        // Clean EOF for libpcap. libpcap 1.10 already reports a partial record header as an
        // error, but if a build ever stops short of the file's end silently, say so.
        const long pos = impl.position();
        if (pos >= 0 && impl.file_size > 0 &&
            static_cast<std::uintmax_t>(pos) < impl.file_size) {
            impl.error = "file ends in the middle of a record at byte " + std::to_string(pos) +
                         " (" + impl.where() + ")";
            return impl.finish(ReadStatus::truncated);
        }
        return impl.finish(ReadStatus::end);
    }

    const std::string reason = pcap_geterr(impl.handle);
    if (reason.find(truncated_word) != std::string::npos) {
        impl.error = reason + ": " + impl.where();
        return impl.finish(ReadStatus::truncated);
    }
    // Not a short file but a damaged or unsupported one (invalid record length, pcapng with a
    // second link type, ...): the file cannot be read on, which is an open-time kind of error.
    throw CaptureError(CaptureErrorKind::not_a_capture,
                       impl.path + " cannot be read past packet " +
                           std::to_string(impl.packets_read) + " (byte " +
                           std::to_string(impl.record_start) + "): " + reason);
}

const std::string& FileReader::error() const noexcept { return impl_->error; }

}  // namespace labtool::capture
