// Files on every OS behind one face: UTF-8 names, an owned handle, opening a file beneath a
// served root (never outside it), identity and times for caches, reads at an offset, listings.
// Backends: files_linux.cpp (openat2 fast path), files_posix.cpp (macOS/BSD and Linux), files_windows.cpp.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace labtool::platform {

/// A path from UTF-8 text (on Windows through the wide API, never the ANSI code page).
std::filesystem::path from_utf8(std::string_view utf8);
/// The UTF-8 text of a path (for messages and for APIs that take UTF-8).
std::string to_utf8(const std::filesystem::path& path);

/// fopen with a UTF-8 name (_wfopen on Windows). nullptr on failure with errno set.
std::FILE* fopen_utf8(const std::string& path, const char* mode);

/// Opens `path` (UTF-8) to write a recording, safe also for root under sudo in a folder others can
/// write to: the last name is never followed if it is a symbolic link (O_NOFOLLOW; Windows: a
/// reparse point is opened as itself and refused). A new file is created (O_EXCL; `created` is
/// then true); an existing regular file is truncated only after fstat showed it is one with no
/// other hard link; an existing FIFO or character device is written as it is (never truncated,
/// a FIFO without a reader fails at once instead of blocking); anything else is refused. Binary,
/// unbuffered stdio is up to the caller. nullptr and `ec` on failure: too_many_symbolic_link_levels
/// (a link), too_many_links (other hard links), is_a_directory, not_supported (another kind), or
/// the OS's own error.
std::FILE* open_for_recording(const std::string& path, bool& created, std::error_code& ec);

/// Cuts the open `file` to `size` bytes (the partial record a failed write left behind) and
/// puts its position there. false when the OS refuses.
bool truncate_open_file(std::FILE* file, std::uint64_t size);

#ifdef _WIN32
using NativeFile = void*;  // HANDLE
#else
using NativeFile = int;    // file descriptor
#endif

/// An owned file or directory handle, closed on destruction. Move-only.
class File {
public:
    File() noexcept;
    explicit File(NativeFile handle) noexcept : handle_(handle) {}
    ~File() { reset(); }
    File(File&& other) noexcept : handle_(std::exchange(other.handle_, invalid())) {}
    File& operator=(File&& other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, invalid());
        }
        return *this;
    }
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    [[nodiscard]] NativeFile native() const noexcept { return handle_; }
    [[nodiscard]] bool is_open() const noexcept { return handle_ != invalid(); }
    [[nodiscard]] explicit operator bool() const noexcept { return is_open(); }
    void reset() noexcept;
    static NativeFile invalid() noexcept;

private:
    NativeFile handle_;
};

enum class FileKind { regular, directory, other };

/// What a cache needs to know that a file is still the one it read.
struct FileInfo {
    FileKind kind = FileKind::other;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;   // last modification, nanoseconds since 1970 (whole seconds
                                 // where the OS or the file system keeps no more)
    std::int64_t change_ns = 0;  // last status change (POSIX ctime; Windows: ChangeTime)
    std::uint64_t device = 0;    // (device, inode): the same pair is the same file
    std::uint64_t inode = 0;     //   (Windows: volume serial number and file index)
};

/// Opens a directory (the served root) and keeps it open. Empty File and `ec` on failure.
File open_directory(const std::filesystem::path& dir, std::error_code& ec);

/// Opens `relative` for reading beneath the directory `root` (opened by open_directory from the
/// canonical `root_path`). `relative` is UTF-8, '/'-separated, already normalised (no "", "."
/// or ".." segments); empty means the root itself. Refuses, as not found, whatever resolves
/// outside the root: symlinks out of it (POSIX; links inside the root are followed). On Windows
/// the name reaches the file system unaltered (no stripping of trailing dots and spaces, no DOS
/// devices), and the handle's final path must be exactly root + `relative`: no other letter case,
/// no 8.3 alias, no link or junction at all, so naming rules checked on `relative` (dotfiles)
/// hold for what is opened. Never blocks on a FIFO.
File open_beneath(const File& root, const std::filesystem::path& root_path, const std::string& relative,
                  std::error_code& ec);

/// Facts about an open file. false (and `ec`) on failure.
bool file_info(const File& file, FileInfo& out, std::error_code& ec);

/// Facts about `relative` beneath `root`, following links, without opening it: a cache's quick
/// re-check. Only ever used to confirm that identity and times still match a file opened with
/// open_beneath before; false if it cannot be told.
bool stat_beneath(const File& root, const std::filesystem::path& root_path, const std::string& relative,
                  FileInfo& out);

/// Reads up to `n` bytes at `offset` (pread). Bytes read, 0 at the end, -1 on error.
std::int64_t read_at(const File& file, void* buffer, std::size_t n, std::uint64_t offset);

struct DirEntry {
    std::string name;  // UTF-8
    bool is_directory = false;
};

/// Regular files and directories directly in the open directory `dir` (links followed; other
/// kinds and "."/".." left out), in no particular order, at most `max_entries` of them (the
/// directory is read no further). false (and `ec`) on failure.
bool list_directory(const File& dir, const std::filesystem::path& dir_path, std::vector<DirEntry>& out,
                    std::error_code& ec, std::size_t max_entries = SIZE_MAX);

}  // namespace labtool::platform
