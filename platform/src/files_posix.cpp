// files.hpp on POSIX (Linux, macOS, the BSDs). The Linux backend adds openat2 and nanosecond
// times through posix_fast_paths.hpp.
#include "labtool/platform/files.hpp"

#include "posix_fast_paths.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <limits>
#include <memory>

namespace labtool::platform {
namespace fs = std::filesystem;

std::FILE* fopen_utf8(const std::string& path, const char* mode) { return std::fopen(path.c_str(), mode); }

File::File() noexcept : handle_(invalid()) {}
NativeFile File::invalid() noexcept { return -1; }
void File::reset() noexcept {
    if (handle_ >= 0) ::close(handle_);
    handle_ = -1;
}

namespace {
std::error_code last_error() { return {errno, std::generic_category()}; }

void fill(const struct stat& st, FileInfo& out) {
    out.kind = S_ISREG(st.st_mode) ? FileKind::regular : S_ISDIR(st.st_mode) ? FileKind::directory : FileKind::other;
    out.size = st.st_size > 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    out.device = static_cast<std::uint64_t>(st.st_dev);
    out.inode = static_cast<std::uint64_t>(st.st_ino);
    detail::stat_times(st, out);
}
}  // namespace

std::FILE* open_for_recording(const std::string& path, bool& created, std::error_code& ec) {
    created = false;
    constexpr int base = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
    // A new file first: O_EXCL neither follows a link nor opens what is there.
    int fd = ::open(path.c_str(), base | O_CREAT | O_EXCL, 0666);
    if (fd >= 0) {
        created = true;
    } else if (errno == EEXIST) {
        // Something is there: open it as itself (never through a link), without creating and
        // without blocking on a FIFO, and look at what it is before truncating anything.
        fd = ::open(path.c_str(), base | O_NONBLOCK);
        if (fd < 0) {
            // A link: ELOOP (Linux, macOS), EMLINK (FreeBSD), EFTYPE (NetBSD).
            const bool link = errno == ELOOP || errno == EMLINK
#ifdef EFTYPE
                              || errno == EFTYPE
#endif
                ;
            ec = link ? std::make_error_code(std::errc::too_many_symbolic_link_levels) : last_error();
            return nullptr;
        }
        struct stat st {};
        std::error_code problem;
        if (::fstat(fd, &st) != 0) {
            problem = last_error();
        } else if (S_ISREG(st.st_mode)) {
            if (st.st_nlink > 1) problem = std::make_error_code(std::errc::too_many_links);
            else if (::ftruncate(fd, 0) != 0) problem = last_error();
        } else if (S_ISDIR(st.st_mode)) {
            problem = std::make_error_code(std::errc::is_a_directory);
        } else if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
            problem = std::make_error_code(std::errc::not_supported);
        }
        if (!problem) {
            const int flags = ::fcntl(fd, F_GETFL);
            if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) problem = last_error();
        }
        if (problem) {
            ::close(fd);
            ec = problem;
            return nullptr;
        }
    } else {
        ec = last_error();
        return nullptr;
    }
    std::FILE* file = ::fdopen(fd, "wb");
    if (file == nullptr) {
        ec = last_error();
        ::close(fd);
        return nullptr;
    }
    ec = {};
    return file;
}

bool truncate_open_file(std::FILE* file, std::uint64_t size) {
    if (file == nullptr || size > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) return false;
    (void)std::fflush(file);
    const auto at = static_cast<off_t>(size);
    return ::ftruncate(::fileno(file), at) == 0 && ::fseeko(file, at, SEEK_SET) == 0;
}

File open_directory(const fs::path& dir, std::error_code& ec) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ec = fd < 0 ? last_error() : std::error_code{};
    return File(fd);
}

// O_NONBLOCK: a FIFO in the root must not block the server. The kernel's RESOLVE_BENEATH where
// there is one; else (and when it refuses absolute symlinks that point inside the root, EXDEV)
// realpath() and a prefix check on the resolved name.
File open_beneath(const File& root, const fs::path& root_path, const std::string& relative, std::error_code& ec) {
    constexpr int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    const char* rel = relative.empty() ? "." : relative.c_str();
    const int fast = detail::open_beneath_fast(root.native(), rel, flags);
    if (fast >= 0) {
        ec = {};
        return File(fast);
    }
    if (fast == -1 && errno != EXDEV) {
        ec = last_error();
        return {};
    }
    const fs::path joined = root_path / rel;
    char resolved[PATH_MAX];
    if (::realpath(joined.c_str(), resolved) == nullptr) {
        ec = last_error();
        return {};
    }
    const std::string_view real(resolved);
    const std::string& base = root_path.native();
    const bool inside = real == base || (real.size() > base.size() && real.substr(0, base.size()) == base &&
                                         (base.back() == '/' || real[base.size()] == '/'));
    if (!inside) {
        ec = std::make_error_code(std::errc::cross_device_link);  // "outside the root": a 404
        return {};
    }
    // `resolved` holds no link now; that none was swapped in since: macOS 11+ refuses a link
    // anywhere in the path (O_NOFOLLOW_ANY), elsewhere at least in the last name.
#ifdef O_NOFOLLOW_ANY
    const int fd = ::open(resolved, flags | O_NOFOLLOW_ANY);
#else
    const int fd = ::open(resolved, flags | O_NOFOLLOW);
#endif
    ec = fd < 0 ? last_error() : std::error_code{};
    return File(fd);
}

bool file_info(const File& file, FileInfo& out, std::error_code& ec) {
    struct stat st {};
    if (::fstat(file.native(), &st) != 0) {
        ec = last_error();
        return false;
    }
    fill(st, out);
    ec = {};
    return true;
}

bool stat_beneath(const File& root, const fs::path&, const std::string& relative, FileInfo& out) {
    struct stat st {};
    if (::fstatat(root.native(), relative.empty() ? "." : relative.c_str(), &st, 0) != 0) return false;
    fill(st, out);
    return true;
}

std::int64_t read_at(const File& file, void* buffer, std::size_t n, std::uint64_t offset) {
    for (;;) {
        const ssize_t r = ::pread(file.native(), buffer, n, static_cast<off_t>(offset));
        if (r < 0 && errno == EINTR) continue;
        return r;
    }
}

bool list_directory(const File& dir, const fs::path&, std::vector<DirEntry>& out, std::error_code& ec,
                    std::size_t max_entries) {
    // fdopendir takes the descriptor over: give it a copy, so `dir` stays usable.
    const int copy = ::openat(dir.native(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const std::unique_ptr<DIR, int (*)(DIR*)> d(copy >= 0 ? ::fdopendir(copy) : nullptr, &::closedir);
    if (!d) {
        ec = last_error();
        if (copy >= 0) ::close(copy);
        return false;
    }
    while (out.size() < max_entries) {
        const dirent* e = ::readdir(d.get());
        if (e == nullptr) break;
        const std::string_view name(e->d_name);
        if (name == "." || name == "..") continue;
        struct stat st {};
        if (::fstatat(::dirfd(d.get()), e->d_name, &st, 0) != 0) continue;
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;
        out.push_back({std::string(name), S_ISDIR(st.st_mode)});
    }
    ec = {};
    return true;
}

}  // namespace labtool::platform
