// libFuzzer target for the capture file reader: the input is a whole pcap or pcapng file. Every
// length field (block, option, record, snaplen), timestamp resolution and offset, link type and
// section must be taken without crashing, without undefined behaviour and without allocating for
// more than the file holds. FileReader reads a path only, so the input goes to a memory file
// (memfd, read through /proc/self/fd) where there is one, else to a temporary file.
#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/file_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace {

/// A file that holds the current input: created once, rewritten for every input.
class InputFile {
public:
    InputFile() {
#if defined(__linux__) && defined(MFD_CLOEXEC)
        fd_ = ::memfd_create("labtool_fuzz_file_reader", MFD_CLOEXEC);
        if (fd_ >= 0) {
            path_ = "/proc/self/fd/" + std::to_string(fd_);
            return;
        }
#endif
        const char* dir = std::getenv("TMPDIR");
        path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/labtool_fuzz_file_reader_" +
                std::to_string(::getpid()) + ".cap";
    }
    ~InputFile() {
        if (fd_ >= 0) ::close(fd_);
        else std::remove(path_.c_str());
    }
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    /// Replaces the file's bytes with `data`; false if that failed.
    bool write(const std::uint8_t* data, std::size_t size) {
        if (fd_ >= 0) {
            if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) return false;
            for (std::size_t at = 0; at < size;) {
                const ssize_t n = ::write(fd_, data + at, size - at);
                if (n <= 0) return false;
                at += static_cast<std::size_t>(n);
            }
            return true;
        }
        std::FILE* f = std::fopen(path_.c_str(), "wb");
        if (f == nullptr) return false;
        const bool ok = std::fwrite(data, 1, size, f) == size;
        return std::fclose(f) == 0 && ok;
    }

    [[nodiscard]] const std::string& path() const { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace labtool::capture;
    static InputFile file;
    if (!file.write(data, size)) std::abort();  // the harness itself is broken: say so loudly
    try {
        FileReader reader(file.path());
        Packet packet;
        std::uint64_t bytes = 0;
        for (;;) {
            const ReadStatus status = reader.next(packet);
            if (status != ReadStatus::packet) {
                // end and truncated are sticky.
                if (reader.next(packet) != status) std::abort();
                break;
            }
            // What the header promises: nanoseconds in range, seconds within the clamp, the
            // bytes inside the file.
            if (packet.ts.nsec >= 1'000'000'000U) std::abort();
            if (packet.ts.sec > 9'223'372'035 || packet.ts.sec < -9'223'372'035) std::abort();
            if (packet.data.size() != packet.caplen || packet.caplen > size) std::abort();
            for (const std::uint8_t b : packet.data) bytes += b;  // every byte readable (ASan)
        }
        static_cast<void>(bytes);
    } catch (const CaptureError&) {
        // not a capture, or damaged past some packet: an answer, not a crash
    }
    return 0;
}
