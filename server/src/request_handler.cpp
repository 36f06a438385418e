// Request -> response for the static file server: path safety (openat2 RESOLVE_BENEATH), MIME
// types, validators, conditional requests (RFC 9110 section 13.2.2) and byte ranges (section 14).
#include "request_handler.hpp"

#include "http_util.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>


#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

namespace labtool::server::detail {
namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view index_file = "index.html";
constexpr std::string_view allowed_methods = "GET, HEAD";
constexpr std::string_view html_type = "text/html; charset=utf-8";
// Error, redirect and listing pages are ours: nothing in them may run or load anything.
constexpr std::string_view page_csp = "default-src 'none'";
constexpr std::string_view not_found_text = "The requested file was not found on this server.";

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out.push_back(c);
        }
    }
    return out;
}

std::string page(std::string_view title, std::string_view body_html) {
    std::string out = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>";
    out += html_escape(title);
    out += "</title></head>\n<body>";
    out += body_html;
    out += "\n<hr><p>labtool</p></body></html>\n";
    return out;
}

void set_page(Response& res, std::string body, bool head_only) {
    res.add("Content-Type", html_type);
    res.add("Content-Length", std::to_string(body.size()));
    res.add("Content-Security-Policy", page_csp);
    res.add("X-Content-Type-Options", "nosniff");
    if (!head_only) {
        res.kind = BodyKind::text;
        res.text = std::move(body);
    }
}

// All values of a header field joined with ", " (RFC 9110 section 5.3), or nothing if absent.
std::optional<std::string> combined(const RequestHeader& req, http::field f) {
    auto [first, last] = req.equal_range(f);
    if (first == last) return std::nullopt;
    std::string out;
    for (auto it = first; it != last; ++it) {
        if (!out.empty()) out += ", ";
        out += std::string_view(it->value());
    }
    return out;
}

// A field that must appear once (dates, Range, If-Range): its value, or nothing if absent or
// repeated (a repeated singleton is invalid and ignored).
std::optional<std::string_view> single(const RequestHeader& req, http::field f) {
    auto [first, last] = req.equal_range(f);
    if (first == last || std::next(first) != last) return std::nullopt;
    return std::string_view(first->value());
}

// Strong validator from size and modification time (nanoseconds), like nginx's "mtime-size".
std::string make_etag(std::uint64_t size, std::int64_t mtime) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(size),
                  static_cast<unsigned long long>(mtime));
    return buf;
}

std::string extension_of(std::string_view name) {
    const auto slash = name.rfind('/');
    const auto base = slash == std::string_view::npos ? name : name.substr(slash + 1);
    const auto dot = base.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return {};
    return std::string(base.substr(dot + 1));
}

// Reads exactly `size` bytes from the start of `file`; nothing if the file changed size meanwhile.
std::shared_ptr<const std::string> read_whole(const platform::File& file, std::uint64_t size) {
    auto data = std::make_shared<std::string>(static_cast<std::size_t>(size), '\0');
    std::uint64_t done = 0;
    while (done < size) {
        const std::int64_t n = platform::read_at(file, data->data() + done, static_cast<std::size_t>(size - done), done);
        if (n <= 0) return nullptr;
        done += static_cast<std::uint64_t>(n);
    }
    return data;
}

Response not_found(bool head) { return make_error_response(404, head, not_found_text); }

Response from_open_error(const std::error_code& ec, bool head) {
    if (ec == std::errc::permission_denied) return make_error_response(403, head, "The file cannot be read.");
    return not_found(head);
}

}  // namespace

std::string_view reason_phrase(unsigned status) {
    switch (status) {
        case 200: return "OK";
        case 206: return "Partial Content";
        case 301: return "Moved Permanently";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 412: return "Precondition Failed";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 416: return "Range Not Satisfiable";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
    }
}

FileMeta::FileMeta(const platform::FileInfo& info, std::string_view path)
    : size(info.size),
      mtime_ns(info.mtime_ns),
      mtime(std::chrono::seconds{info.mtime_ns / 1'000'000'000}),
      etag(make_etag(size, mtime_ns)),
      last_modified(http_date(mtime)),
      content_type(mime_type(extension_of(path))) {}

FileCache::Entry::Entry(std::string file, const platform::FileInfo& info, FileMeta m,
                        std::shared_ptr<const std::string> bytes)
    : path(std::move(file)),
      dev(info.device),
      ino(info.inode),
      ctime_ns(info.change_ns),
      meta(std::move(m)),
      data(std::move(bytes)) {}

bool FileCache::Entry::describes(const platform::FileInfo& info) const {
    return info.kind == platform::FileKind::regular && info.device == dev && info.inode == ino &&
           info.size == meta.size && info.mtime_ns == meta.mtime_ns && info.change_ns == ctime_ns;
}

bool FileCache::cacheable(const platform::FileInfo& info, std::int64_t now_ns) {
    // Times on exact seconds mean this OS or file system keeps no finer ones (plain POSIX, FAT,
    // HFS+, some shares): a change later in the same second as the read would go unseen (git's
    // "racy" files), so such a file stays out of the cache until its second is over.
    constexpr std::int64_t one_second = 1'000'000'000;
    if (info.mtime_ns % one_second != 0 || info.change_ns % one_second != 0) return true;
    return now_ns - std::max(info.mtime_ns, info.change_ns) >= 2 * one_second;
}

std::shared_ptr<const FileCache::Entry> FileCache::find(const std::string& key) const {
    std::shared_lock lock(mutex_);
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : it->second;
}

void FileCache::insert(const std::string& key, std::shared_ptr<const Entry> entry) {
    const std::uint64_t size = entry->meta.size;
    if (size > max_bytes_) return;
    std::unique_lock lock(mutex_);
    if (auto it = entries_.find(key); it != entries_.end()) {
        bytes_ -= it->second->meta.size;
        entries_.erase(it);
    }
    if (bytes_ + size > max_bytes_) {  // simple and bounded: start over
        entries_.clear();
        bytes_ = 0;
    }
    bytes_ += size;
    entries_.emplace(key, std::move(entry));
}

Response make_error_response(unsigned status, bool head_only, std::string_view detail) {
    const std::string title = std::to_string(status) + " " + std::string(reason_phrase(status));
    Response res;
    res.status = status;
    set_page(res, page(title, "<h1>" + html_escape(title) + "</h1>\n<p>" + html_escape(detail) + "</p>"), head_only);
    return res;
}

FileServer::FileServer(fs::path root, FileServerOptions options, std::error_code& ec)
    : root_(std::move(root)), options_(options), cache_(options.max_cache_bytes) {
    ec.clear();
    root_dir_ = platform::open_directory(root_, ec);
    cache_control_ = "public, max-age=" + std::to_string(options_.cache_seconds);
}

Response FileServer::handle(const RequestHeader& req) const {
    const auto method = req.method();
    const bool head = method == http::verb::head;
    if (method != http::verb::get && !head) {
        // RFC 9110 section 15.5.6: 405 carries Allow. A method we do not know at all (also a
        // lowercase "get": methods are case-sensitive) is 501 (section 15.6.2).
        const unsigned status = method == http::verb::unknown ? 501 : 405;
        auto res = make_error_response(status, false, "This server only answers GET and HEAD.");
        res.add("Allow", allowed_methods);
        return res;
    }

    const NormalizedTarget target = normalize_target(req.target());
    switch (target.error) {
        case TargetError::none: break;
        case TargetError::above_root:
        case TargetError::reserved_name: return not_found(head);  // no file here can have this name
        case TargetError::bad_form:
        case TargetError::bad_escape:
        case TargetError::bad_byte:
        case TargetError::bad_utf8: return make_error_response(400, head, "Malformed request target.");
    }
    // Dotfiles (.git, .env, .htpasswd) and dot-directories stay hidden unless allowed.
    if (!options_.allow_dotfiles && target.has_dot_segment()) return not_found(head);

    std::string rel;
    for (const auto& s : target.segments) {
        if (!rel.empty()) rel += '/';
        rel += s;
    }

    // Small unchanged files: from memory after one stat, without opening anything.
    std::string cache_key = rel;
    if (target.trailing_slash) cache_key += '/';
    if (auto entry = fresh_entry(cache_key)) return serve_file(req, entry->meta, entry.get(), platform::File{}, head);

    std::error_code ec;
    platform::File fd = platform::open_beneath(root_dir_, root_, rel, ec);  // "" is the root
    if (!fd) return from_open_error(ec, head);
    platform::FileInfo st;
    if (!platform::file_info(fd, st, ec)) return not_found(head);

    std::string served = rel;
    if (st.kind == platform::FileKind::directory) {
        if (!target.trailing_slash) {
            // Location is built from the normalised, re-encoded path: it always starts with
            // exactly one '/', so it can never be a protocol-relative "//host/..." URL.
            const std::string location = percent_encode_path(target.path() + "/") + target.query;
            Response res;
            res.status = 301;
            res.add("Location", location);
            set_page(res,
                     page("Redirecting", "<p>Redirecting to <a href=\"" + html_escape(location) + "\">" +
                                             html_escape(location) + "</a></p>"),
                     head);
            return res;
        }
        served = rel.empty() ? std::string(index_file) : rel + "/" + std::string(index_file);
        platform::File index = platform::open_beneath(root_dir_, root_, served, ec);
        if (!index) {
            if (ec == std::errc::no_such_file_or_directory && options_.list_dirs)
                return listing(fd, rel.empty() ? root_ : root_ / platform::from_utf8(rel), target, head);
            return from_open_error(ec, head);
        }
        fd = std::move(index);
        if (!platform::file_info(fd, st, ec)) return not_found(head);
    } else if (target.trailing_slash) {
        return not_found(head);  // "/file.txt/" names a directory that does not exist
    }
    if (st.kind != platform::FileKind::regular) return not_found(head);  // no FIFOs, sockets or devices
    FileMeta meta(st, served);
    if (!head && meta.size > 0 && meta.size <= options_.max_cached_file_bytes) {
        if (auto data = read_whole(fd, meta.size)) {
            auto entry = std::make_shared<FileCache::Entry>(served, st, std::move(meta), std::move(data));
            entry->fields_200 = file_fields(entry->meta, entry->meta.size, {});
            if (FileCache::cacheable(st, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::system_clock::now().time_since_epoch()).count()))
                cache_.insert(cache_key, entry);
            return serve_file(req, entry->meta, entry.get(), platform::File{}, head);
        }
    }
    return serve_file(req, meta, nullptr, std::move(fd), head);
}

std::shared_ptr<const FileCache::Entry> FileServer::fresh_entry(const std::string& cache_key) const {
    auto entry = cache_.find(cache_key);
    if (!entry) return nullptr;
    platform::FileInfo st;
    if (!platform::stat_beneath(root_dir_, root_, entry->path, st) || !entry->describes(st)) return nullptr;
    return entry;
}

std::string FileServer::file_fields(const FileMeta& meta, std::uint64_t length, std::string_view content_range) const {
    Response res;
    res.add("Content-Type", meta.content_type);
    res.add("Content-Length", std::to_string(length));
    if (!content_range.empty()) res.add("Content-Range", content_range);
    add_validators(res, meta);
    res.add("Accept-Ranges", "bytes");
    return std::move(res.fields);
}

// What a 304 keeps of a file's fields (RFC 9110 section 15.4.5): validators and caching.
void FileServer::add_validators(Response& res, const FileMeta& meta) const {
    res.add("Last-Modified", meta.last_modified);
    res.add("ETag", meta.etag);
    res.add("Cache-Control", cache_control_);
    if (options_.cors) res.add("Access-Control-Allow-Origin", "*");
}

Response FileServer::serve_file(const RequestHeader& req, const FileMeta& meta, const FileCache::Entry* cached,
                                platform::File fd, bool head) const {
    const std::uint64_t size = meta.size;
    const std::string& etag = meta.etag;
    // Whole seconds, as HTTP dates have them; compared in seconds (a date in year 9999 is not
    // representable in system_clock's nanoseconds).
    const auto mtime_sys = std::chrono::floor<std::chrono::seconds>(meta.mtime);

    // RFC 9110 section 13.2.2: preconditions in this order, all before Range.
    // 1. If-Match (strong comparison), else 2. If-Unmodified-Since: false -> 412.
    if (auto im = combined(req, http::field::if_match)) {
        if (!etag_list_matches_strong(*im, etag))
            return make_error_response(412, head, "The file has changed (If-Match).");
    } else if (auto ius = single(req, http::field::if_unmodified_since)) {
        if (auto d = parse_http_date(*ius); d && mtime_sys > *d)
            return make_error_response(412, head, "The file has changed (If-Unmodified-Since).");
    }
    // 3. If-None-Match (weak comparison), else 4. If-Modified-Since (invalid dates ignored):
    // false -> 304 for GET and HEAD, with the validators and no body (section 15.4.5).
    bool not_modified = false;
    if (auto inm = combined(req, http::field::if_none_match)) {
        not_modified = etag_list_matches_weak(*inm, etag);
    } else if (auto ims = single(req, http::field::if_modified_since)) {
        if (auto d = parse_http_date(*ims); d && mtime_sys <= *d) not_modified = true;
    }
    if (not_modified) {
        Response res;
        res.status = 304;
        add_validators(res, meta);
        return res;
    }

    // 5. Range, for GET only (section 14.2), guarded by If-Range (section 13.1.5): an entity-tag
    // must match strongly, a date exactly; otherwise the whole file is sent with 200.
    ParsedRange range;
    if (auto r = single(req, http::field::range); r && !head) {
        bool if_range_ok = true;
        if (auto ir = req.find(http::field::if_range); ir != req.end()) {
            const std::string_view v = ir->value();
            if (!v.empty() && (v.front() == '"' || v.substr(0, 2) == "W/")) {
                if_range_ok = v == etag;  // a weak tag never equals our strong one
            } else {
                auto d = parse_http_date(v);
                if_range_ok = d && *d == mtime_sys;
            }
        }
        if (if_range_ok) range = parse_range(*r, size);
    }
    if (range.result == RangeResult::unsatisfiable) {
        // Section 15.5.17: 416 with Content-Range: bytes */complete-length.
        auto res = make_error_response(416, false, "The requested range is outside the file.");
        res.add("Content-Range", "bytes */" + std::to_string(size));
        res.add("Accept-Ranges", "bytes");
        return res;
    }

    Response res;
    res.offset = 0;
    res.length = size;
    if (range.result == RangeResult::satisfiable) {
        res.status = 206;  // section 15.3.7
        res.offset = range.range.first;
        res.length = range.range.last - range.range.first + 1;
        res.fields = file_fields(meta, res.length,
                                 "bytes " + std::to_string(range.range.first) + "-" +
                                     std::to_string(range.range.last) + "/" + std::to_string(size));
    } else if (cached != nullptr) {
        res.fields = cached->fields_200;
    } else {
        res.fields = file_fields(meta, size, {});
    }

    if (head || res.length == 0) {
        res.kind = BodyKind::none;
    } else if (cached != nullptr) {
        res.kind = BodyKind::shared;
        res.shared = cached->data;
    } else {
        res.kind = BodyKind::file;
        res.file = std::move(fd);
    }
    return res;
}

Response FileServer::listing(const platform::File& dir, const fs::path& dir_path, const NormalizedTarget& target,
                            bool head) const {
    constexpr std::size_t max_entries = 10000;
    std::vector<platform::DirEntry> all;
    std::error_code ec;
    if (!platform::list_directory(dir, dir_path, all, ec, max_entries)) return not_found(head);
    struct Item {
        std::string name;
        bool dir;
    };
    std::vector<Item> items;
    for (auto& e : all) {
        if (!options_.allow_dotfiles && e.name.front() == '.') continue;
        if (!is_valid_utf8(e.name)) continue;
        items.push_back({std::move(e.name), e.is_directory});
        if (items.size() >= max_entries) break;
    }
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
        return a.dir != b.dir ? a.dir : a.name < b.name;
    });
    const std::string path = target.path() == "/" ? "/" : target.path() + "/";
    std::string body = "<h1>Index of " + html_escape(path) + "</h1>\n<ul>\n";
    if (!target.segments.empty()) body += "<li><a href=\"../\">../</a></li>\n";
    for (const auto& it : items) {
        const std::string name = it.name + (it.dir ? "/" : "");
        // "./" keeps a name such as "javascript:x" from being read as a URL scheme.
        body += "<li><a href=\"./" + html_escape(percent_encode_path(name)) + "\">" + html_escape(name) +
                "</a></li>\n";
    }
    body += "</ul>";
    Response res;
    res.status = 200;
    res.add("Cache-Control", "no-cache");
    set_page(res, page("Index of " + path, body), head);
    return res;
}

}  // namespace labtool::server::detail
