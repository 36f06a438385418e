// files.hpp on Windows: wide-character APIs only (UTF-8 names never meet the ANSI code page).
// A file beneath the root is opened by its "\\?\" name, so Win32 does not rewrite it (trailing
// dots and spaces, device names such as CON), and then the handle's final path decides: it must
// lie beneath the root's final path and name exactly what was asked for: that refuses junctions
// and symbolic links (out of the root or not), 8.3 short names (HIDDEN~1 for .hidden) and other
// letter case, so a request means the same file on Windows as on Linux.
#include "labtool/platform/files.hpp"

#include "windows_util.hpp"

#include <fcntl.h>
#include <io.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cwchar>

namespace labtool::platform {
namespace fs = std::filesystem;
using detail::last_win_error;

std::FILE* fopen_utf8(const std::string& path, const char* mode) {
    const std::wstring wmode = detail::widen(mode);
    return ::_wfopen(from_utf8(path).c_str(), wmode.c_str());
}

File::File() noexcept : handle_(invalid()) {}
NativeFile File::invalid() noexcept { return INVALID_HANDLE_VALUE; }
void File::reset() noexcept {
    if (handle_ != INVALID_HANDLE_VALUE) ::CloseHandle(handle_);
    handle_ = INVALID_HANDLE_VALUE;
}

namespace {

constexpr std::int64_t filetime_epoch_offset = 116444736000000000LL;  // 1601 -> 1970, in 100 ns

// 0 (a file system that keeps no such time) and times before 1970 become 0; no overflow.
std::int64_t to_unix_ns(LARGE_INTEGER t) {
    if (t.QuadPart <= filetime_epoch_offset) return 0;
    const std::int64_t ticks = t.QuadPart - filetime_epoch_offset;
    constexpr std::int64_t max_ticks = INT64_MAX / 100;
    return ticks > max_ticks ? INT64_MAX : ticks * 100;
}

std::int64_t to_unix_ns(FILETIME ft) {
    LARGE_INTEGER t;
    t.LowPart = ft.dwLowDateTime;
    t.HighPart = static_cast<LONG>(ft.dwHighDateTime);
    return to_unix_ns(t);
}

// "\\?\C:\dir" for an absolute path: Win32 then passes the name to the file system unchanged.
std::wstring long_name(const fs::path& p) {
    std::wstring w = p.native();
    std::replace(w.begin(), w.end(), L'/', L'\\');
    if (w.rfind(L"\\\\?\\", 0) == 0) return w;
    if (w.rfind(L"\\\\", 0) == 0) return L"\\\\?\\UNC\\" + w.substr(2);
    return L"\\\\?\\" + w;
}

// The handle's final path ("\\?\C:\www\index.html"), links and short names resolved.
std::wstring final_path(HANDLE h) {
    std::wstring buf(512, L'\0');
    for (int tries = 0; tries < 3; ++tries) {
        const DWORD n = ::GetFinalPathNameByHandleW(h, buf.data(), static_cast<DWORD>(buf.size()),
                                                    FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
        if (n == 0) return {};
        if (n < buf.size()) {
            buf.resize(n);
            return buf;
        }
        buf.resize(n + 1);
    }
    return {};
}

bool equal_ignoring_case(std::wstring_view a, std::wstring_view b) {
    return a.size() == b.size() &&
           ::CompareStringOrdinal(a.data(), static_cast<int>(a.size()), b.data(), static_cast<int>(b.size()), TRUE) ==
               CSTR_EQUAL;
}

// FILE_FLAG_BACKUP_SEMANTICS opens directories too; sharing everything: never in anyone's way.
// `no_follow`: a link or junction as the last name is opened itself, not followed (so a link to a
// network share cannot stall the server; it is refused afterwards).
HANDLE open_handle(const std::wstring& name, DWORD access, bool no_follow = false) {
    return ::CreateFileW(name.c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                         OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | (no_follow ? FILE_FLAG_OPEN_REPARSE_POINT : 0),
                         nullptr);
}

bool info_of(HANDLE h, FileInfo& out) {
    if (::GetFileType(h) != FILE_TYPE_DISK) {
        out.kind = FileKind::other;  // a pipe or a character device
        return true;
    }
    BY_HANDLE_FILE_INFORMATION bh{};
    if (!::GetFileInformationByHandle(h, &bh)) return false;
    out.kind = (bh.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0 ? FileKind::directory : FileKind::regular;
    out.size = (static_cast<std::uint64_t>(bh.nFileSizeHigh) << 32) | bh.nFileSizeLow;
    out.device = bh.dwVolumeSerialNumber;
    out.inode = (static_cast<std::uint64_t>(bh.nFileIndexHigh) << 32) | bh.nFileIndexLow;
    out.mtime_ns = to_unix_ns(bh.ftLastWriteTime);
    out.change_ns = out.mtime_ns;
    FILE_BASIC_INFO basic{};
    if (::GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic)) out.change_ns = to_unix_ns(basic.ChangeTime);
    return true;
}

}  // namespace

// The name is opened as itself (FILE_FLAG_OPEN_REPARSE_POINT): a symbolic link or junction there
// is refused, not followed. CREATE_NEW first; an existing disk file is emptied (SetEndOfFile) only
// after its handle showed a plain file with no other hard link; a pipe or device is written as is.
std::FILE* open_for_recording(const std::string& path, bool& created, std::error_code& ec) {
    created = false;
    const std::wstring name = from_utf8(path).native();
    constexpr DWORD share = FILE_SHARE_READ;
    HANDLE h = ::CreateFileW(name.c_str(), GENERIC_WRITE, share, nullptr, CREATE_NEW,
                             FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
    if (h != INVALID_HANDLE_VALUE) {
        created = true;
    } else if (::GetLastError() == ERROR_FILE_EXISTS || ::GetLastError() == ERROR_ALREADY_EXISTS) {
        h = ::CreateFileW(name.c_str(), GENERIC_WRITE, share, nullptr, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT,
                          nullptr);
        if (h == INVALID_HANDLE_VALUE) {
            ec = last_win_error();
            return nullptr;
        }
        std::error_code problem;
        if (::GetFileType(h) == FILE_TYPE_DISK) {
            BY_HANDLE_FILE_INFORMATION info{};
            if (!::GetFileInformationByHandle(h, &info)) problem = last_win_error();
            else if ((info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0)
                problem = std::make_error_code(std::errc::too_many_symbolic_link_levels);
            else if ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0)
                problem = std::make_error_code(std::errc::is_a_directory);
            else if (info.nNumberOfLinks > 1)
                problem = std::make_error_code(std::errc::too_many_links);
            else if (!::SetEndOfFile(h))  // the position is 0 right after opening
                problem = last_win_error();
        }
        if (problem) {
            ::CloseHandle(h);
            ec = problem;
            return nullptr;
        }
    } else {
        ec = last_win_error();
        return nullptr;
    }
    const int fd = ::_open_osfhandle(reinterpret_cast<intptr_t>(h), _O_WRONLY | _O_BINARY);
    if (fd < 0) {
        ::CloseHandle(h);
        ec = std::make_error_code(std::errc::too_many_files_open);
        return nullptr;
    }
    std::FILE* file = ::_fdopen(fd, "wb");
    if (file == nullptr) {
        ec = {errno, std::generic_category()};
        ::_close(fd);  // closes the handle too
        return nullptr;
    }
    ec = {};
    return file;
}

bool truncate_open_file(std::FILE* file, std::uint64_t size) {
    if (file == nullptr || size > static_cast<std::uint64_t>(INT64_MAX)) return false;
    (void)std::fflush(file);
    const auto at = static_cast<long long>(size);
    return ::_chsize_s(::_fileno(file), at) == 0 && ::_fseeki64(file, at, SEEK_SET) == 0;
}

File open_directory(const fs::path& dir, std::error_code& ec) {
    HANDLE h = open_handle(long_name(dir), FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES);
    ec = h == INVALID_HANDLE_VALUE ? last_win_error() : std::error_code{};
    return File(h);
}

File open_beneath(const File& root, const fs::path& root_path, const std::string& relative, std::error_code& ec) {
    const fs::path full = relative.empty() ? root_path : root_path / from_utf8(relative);
    File file(open_handle(long_name(full), GENERIC_READ, true));
    if (!file) {
        ec = last_win_error();
        return {};
    }
    if (BY_HANDLE_FILE_INFORMATION bh{}; !relative.empty() && ::GetFileInformationByHandle(file.native(), &bh) &&
                                         (bh.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
        ec = std::make_error_code(std::errc::no_such_file_or_directory);  // a link or junction itself
        return {};
    }
    const std::wstring base = final_path(root.native());
    const std::wstring got = final_path(file.native());
    // Beneath the root: its final path, then a separator (or nothing: the root itself).
    const bool inside = !base.empty() && got.size() >= base.size() &&
                        equal_ignoring_case(std::wstring_view(got).substr(0, base.size()), base) &&
                        (got.size() == base.size() || got[base.size()] == L'\\' || base.back() == L'\\');
    if (!inside) {
        ec = std::make_error_code(std::errc::no_such_file_or_directory);
        return {};
    }
    std::wstring rest = got.substr(std::min(got.size(), base.size() + (base.back() == L'\\' ? 0 : 1)));
    std::replace(rest.begin(), rest.end(), L'\\', L'/');
    const std::string name = detail::narrow(rest);
    // Exactly the name asked for, byte for byte, as on a POSIX file system: no other case
    // (INDEX.HTML), no 8.3 alias (HIDDEN~1 for .hidden), no link or junction even inside the
    // root (whose target would need its own check). Anything else is not found.
    if (name != relative) {
        ec = std::make_error_code(std::errc::no_such_file_or_directory);
        return {};
    }
    ec = {};
    return file;
}

bool file_info(const File& file, FileInfo& out, std::error_code& ec) {
    if (!info_of(file.native(), out)) {
        ec = last_win_error();
        return false;
    }
    ec = {};
    return true;
}

bool stat_beneath(const File&, const fs::path& root_path, const std::string& relative, FileInfo& out) {
    const fs::path full = relative.empty() ? root_path : root_path / from_utf8(relative);
    File file(open_handle(long_name(full), FILE_READ_ATTRIBUTES));
    return file && info_of(file.native(), out);
}

std::int64_t read_at(const File& file, void* buffer, std::size_t n, std::uint64_t offset) {
    OVERLAPPED at{};  // a synchronous handle reads at the offset given here
    at.Offset = static_cast<DWORD>(offset & 0xffffffffu);
    at.OffsetHigh = static_cast<DWORD>(offset >> 32);
    DWORD got = 0;
    const DWORD want = static_cast<DWORD>(std::min<std::size_t>(n, 1u << 30));
    if (!::ReadFile(file.native(), buffer, want, &got, &at)) {
        return ::GetLastError() == ERROR_HANDLE_EOF ? 0 : -1;
    }
    return static_cast<std::int64_t>(got);
}

bool list_directory(const File&, const fs::path& dir_path, std::vector<DirEntry>& out, std::error_code& ec,
                    std::size_t max_entries) {
    fs::directory_iterator it(dir_path, ec), end;
    if (ec) return false;
    for (; it != end && out.size() < max_entries; it.increment(ec)) {
        if (ec) return false;
        std::error_code kind_ec;
        const bool is_dir = it->is_directory(kind_ec);  // follows links, as on POSIX
        const bool is_file = !is_dir && it->is_regular_file(kind_ec);
        if (!is_dir && !is_file) continue;
        out.push_back({to_utf8(it->path().filename()), is_dir});
    }
    ec = {};
    return true;
}

}  // namespace labtool::platform
