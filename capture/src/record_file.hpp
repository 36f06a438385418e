// The file under both recording writers (Recorder: pcap, PcapngWriter: pcapng). It is opened
// safely (platform::open_for_recording: never through a link at the last name, an existing file
// truncated only once it is known to be a plain one, given to the sudo user by descriptor).
// Whole records are gathered in one buffer and handed to the OS in large writes, so the file
// always ends on a whole record and a reader (tshark, after a kill -9 too) reads every record the
// OS took. A failed write is final: the partial record it left is cut off, the count says how
// many packets the file really holds, and nothing more is written.
#pragma once

#include "labtool/capture/capture_error.hpp"
#include "labtool/platform/files.hpp"
#include "labtool/platform/process.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace labtool::capture::detail {

class RecordFile {
public:
    /// Records are gathered up to about this many bytes, then written in one call.
    static constexpr std::size_t buffer_bytes = 256 * 1024;

    /// Opens `path` (UTF-8). Throws CaptureError (other) saying why it cannot be written.
    explicit RecordFile(const std::string& path) : path_(path) {
        bool created = false;
        std::error_code ec;
        file_ = platform::open_for_recording(path, created, ec);
        if (file_ == nullptr) {
            throw CaptureError(CaptureErrorKind::other, "cannot write " + path + ": " + open_problem(ec));
        }
        // Started with sudo: a recording labtool created belongs to the user who typed the
        // command (on the open descriptor; an existing file, FIFO or device keeps its owner).
        if (created) {
            if (const std::string why = platform::give_to_sudo_user(file_); !why.empty())
                warning_ = "could not give " + path + " to the sudo user: " + why;
        }
        // Our buffer does the batching (in whole records); stdio's would split them.
        std::setvbuf(file_, nullptr, _IONBF, 0);
        buffer_.reserve(buffer_bytes);
    }

    ~RecordFile() {
        if (file_ == nullptr) return;
        if (!broken_) (void)write_out();  // a destructor cannot report: callers flush() first
        std::fclose(file_);
    }
    RecordFile(const RecordFile&) = delete;
    RecordFile& operator=(const RecordFile&) = delete;

    /// Call before appending a record of `bytes`: writes what is gathered if it would not fit.
    void make_room(std::size_t bytes) {
        if (!buffer_.empty() && buffer_.size() + bytes > buffer_bytes) drain();
    }
    /// Where records are appended.
    [[nodiscard]] std::vector<std::uint8_t>& buffer() noexcept { return buffer_; }
    /// The bytes appended since the previous call form one record (`packet`: a packet's, else a
    /// header block's). Writes when the buffer is full; throws as drain().
    void end_record(bool packet) {
        ends_.emplace_back(buffer_.size(), packet);
        if (packet) ++buffered_packets_;
        if (buffer_.size() >= buffer_bytes) drain();
    }
    /// Hands the gathered records to the OS. Throws CaptureError (other) with the OS reason.
    void drain() {
        if (!write_out()) fail();
    }
    /// drain(), then stdio's flush. Nothing (and no throw) once broken: it was reported.
    void flush() {
        if (broken_) return;
        drain();
        errno = 0;
        if (std::fflush(file_) != 0) {
            stop(errno);
            fail();
        }
    }

    [[nodiscard]] bool broken() const noexcept { return broken_; }
    /// Packets written: in the file or gathered for it; after a failure, those in the file.
    [[nodiscard]] std::uint64_t packets() const noexcept { return packets_ + buffered_packets_; }
    /// The OS error that stopped writing; empty while all is well.
    [[nodiscard]] std::error_code error() const noexcept { return error_; }
    [[nodiscard]] const std::string& warning() const noexcept { return warning_; }

private:
    static std::string open_problem(const std::error_code& ec) {
        if (ec == std::errc::too_many_symbolic_link_levels)
            return "it is a symbolic link, and labtool never records through a link (it could lead to any file): "
                   "remove it or choose another name";
        if (ec == std::errc::too_many_links)
            return "the file has other hard links, and labtool does not overwrite a file that is also elsewhere: "
                   "remove it or choose another name";
        if (ec == std::errc::not_supported) return "not a regular file";
        return ec ? ec.message() : std::string("cannot create the file");
    }

    void stop(int error_number) {
        broken_ = true;
        error_ = std::error_code(error_number != 0 ? error_number : EIO, std::generic_category());
        buffer_.clear();
        ends_.clear();
        buffered_packets_ = 0;
    }

    [[noreturn]] void fail() const {
        throw CaptureError(CaptureErrorKind::other, "cannot write " + path_ + ": " + error_.message());
    }

    /// One write of the whole buffer. false when the OS took less: the records it took whole
    /// are counted, the partial one is cut off the file, and the file is closed to writing.
    bool write_out() {
        if (buffer_.empty()) return true;
        errno = 0;
        const std::size_t n = std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
        const int saved = errno;
        std::size_t kept = 0;
        for (const auto& [end, packet] : ends_) {
            if (end > n) break;
            kept = end;
            if (packet) ++packets_;
        }
        file_bytes_ += kept;
        if (n == buffer_.size()) {
            buffer_.clear();
            ends_.clear();
            buffered_packets_ = 0;
            return true;
        }
        if (kept < n) (void)platform::truncate_open_file(file_, file_bytes_);  // readers stop at a cut record
        stop(saved);
        return false;
    }

    std::string path_;
    std::string warning_;
    std::FILE* file_ = nullptr;
    std::vector<std::uint8_t> buffer_;
    std::vector<std::pair<std::size_t, bool>> ends_;  // end of each gathered record, and if a packet's
    std::uint64_t packets_ = 0;           // packets whose records the OS took
    std::uint64_t buffered_packets_ = 0;  // packets gathered, not yet handed over
    std::uint64_t file_bytes_ = 0;        // bytes of whole records in the file
    std::error_code error_;
    bool broken_ = false;
};

}  // namespace labtool::capture::detail
