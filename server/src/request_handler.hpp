// Turns one parsed HTTP request head into a Response for a static file tree (no socket I/O):
// path safety, directories, methods, validators, conditional requests and byte ranges.
// Private to labtool_server; the session adds Date, Server, Connection and Keep-Alive.
#pragma once

#include "http_util.hpp"
#include "response.hpp"

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include "labtool/platform/files.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>

namespace labtool::server::detail {

using RequestHeader = boost::beast::http::request_header<>;

/// Options of the file tree that change responses (a subset of ServerConfig).
struct FileServerOptions {
    bool allow_dotfiles = false;
    bool list_dirs = false;
    bool cors = false;
    std::uint32_t cache_seconds = 0;
    std::uint64_t max_cached_file_bytes = 256 * 1024;
    std::uint64_t max_cache_bytes = 64 * 1024 * 1024;
};

/// What the response headers say about one version of a file, formatted once.
struct FileMeta {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::chrono::system_clock::time_point mtime;  // whole seconds, as HTTP dates have them
    std::string etag;                             // strong: "size-mtime_ns" in hex
    std::string last_modified;                    // IMF-fixdate
    std::string content_type;

    FileMeta(const platform::FileInfo& info, std::string_view path);
};

/// Small files kept in memory, keyed by the request path below the root ("dir/" for a folder's
/// index.html). An entry is used only while the file it was read from is unchanged: same
/// device, inode, size, modification and change time (a chmod changes the latter). That check is
/// one platform::stat_beneath of the path, no open: if the path now leads somewhere else (a
/// swapped symlink), the identity differs and the request takes the full path (open_beneath).
/// Thread-safe.
class FileCache {
public:
    struct Entry {
        std::string path;  // the file read, relative to the root (the index.html for "dir/")
        std::uint64_t dev = 0;
        std::uint64_t ino = 0;
        std::int64_t ctime_ns = 0;
        FileMeta meta;
        std::string fields_200;  // the header block of a plain 200 response
        std::shared_ptr<const std::string> data;

        Entry(std::string file, const platform::FileInfo& info, FileMeta m, std::shared_ptr<const std::string> bytes);
        /// Whether `info` (from platform::stat_beneath) still describes the file this entry was read from.
        [[nodiscard]] bool describes(const platform::FileInfo& info) const;
    };

    /// Whether a file read now may be kept: always with sub-second times; with times on exact
    /// seconds only once its last change is two seconds old (a change within that second is invisible).
    static bool cacheable(const platform::FileInfo& info, std::int64_t now_ns);

    explicit FileCache(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}

    /// The entry for `key`, if any (not yet revalidated).
    std::shared_ptr<const Entry> find(const std::string& key) const;

    /// Stores `entry` (replacing an older version); clears the cache first if it would overflow.
    void insert(const std::string& key, std::shared_ptr<const Entry> entry);

private:
    std::uint64_t max_bytes_;
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const Entry>> entries_;
    std::uint64_t bytes_ = 0;
};

/// Serves requests from one root folder. Thread-safe once constructed.
class FileServer {
public:
    /// `root` must be an absolute, canonical directory path. Opens it and keeps it open.
    FileServer(std::filesystem::path root, FileServerOptions options, std::error_code& ec);

    /// The response to a request head. Never throws for bad input: every problem becomes a
    /// 4xx/5xx response whose body never names a file system path or echoes the request.
    Response handle(const RequestHeader& req) const;

private:
    /// The response for a regular file: from `cached` (its bytes in memory) or else from `fd`.
    Response serve_file(const RequestHeader& req, const FileMeta& meta, const FileCache::Entry* cached,
                        platform::File fd, bool head) const;
    /// `cache_key` served from memory if it is cached and unchanged on disk; else nothing.
    std::shared_ptr<const FileCache::Entry> fresh_entry(const std::string& cache_key) const;
    /// The header block of a 200 (no `content_range`) or 206 response for `meta`.
    std::string file_fields(const FileMeta& meta, std::uint64_t length, std::string_view content_range) const;
    void add_validators(Response& res, const FileMeta& meta) const;
    Response listing(const platform::File& dir, const std::filesystem::path& dir_path, const NormalizedTarget& target,
                     bool head) const;

    std::filesystem::path root_;
    platform::File root_dir_;
    FileServerOptions options_;
    std::string cache_control_;
    mutable FileCache cache_;
};

/// A small HTML error page (or its headers only, for HEAD) with the given status, carrying
/// Content-Security-Policy: default-src 'none' and X-Content-Type-Options: nosniff.
/// `detail` is plain text, HTML-escaped here.
Response make_error_response(unsigned status, bool head_only, std::string_view detail);

}  // namespace labtool::server::detail
