// Request -> response for the static file server: path safety, MIME types, validators,
// conditional requests and single byte ranges (RFC 9110).
#include "request_handler.hpp"

#include "http_util.hpp"

#include <boost/beast/core/file.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace labtool::server::detail {
namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view index_file = "index.html";
constexpr std::string_view allowed_methods = "GET, HEAD";
constexpr std::string_view cache_control = "public, max-age=0";
constexpr std::string_view html_type = "text/html; charset=utf-8";

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default: out.push_back(c);
        }
    }
    return out;
}

// True if `path` equals `root` or lies below it (both canonical / weakly canonical).
bool is_within(const fs::path& root, const fs::path& path) {
    auto r = root.begin();
    auto p = path.begin();
    for (; r != root.end(); ++r, ++p) {
        if (r->empty() && std::next(r) == root.end()) break;  // trailing separator on root
        if (p == path.end() || *r != *p) return false;
    }
    return true;
}

std::uint64_t file_time_seconds(fs::file_time_type t) {
    const auto sys = std::chrono::file_clock::to_sys(t);
    const auto secs = std::chrono::floor<std::chrono::seconds>(sys).time_since_epoch().count();
    return secs < 0 ? 0 : static_cast<std::uint64_t>(secs);
}

// Strong validator from size and modification time (nanoseconds), like nginx's "mtime-size".
std::string make_etag(std::uint64_t size, fs::file_time_type mtime) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                        .count();
    char buf[64];
    std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(size),
                  static_cast<unsigned long long>(ns));
    return buf;
}

// If-None-Match uses the weak comparison (RFC 9110 section 13.1.2): W/ prefixes are ignored.
bool if_none_match_matches(std::string_view header, std::string_view etag) {
    std::size_t pos = 0;
    while (pos < header.size()) {
        while (pos < header.size() && (header[pos] == ' ' || header[pos] == '\t' || header[pos] == ','))
            ++pos;
        if (pos >= header.size()) break;
        if (header[pos] == '*') return true;
        if (header.substr(pos, 2) == "W/") pos += 2;
        if (pos >= header.size() || header[pos] != '"') return false;  // malformed list
        const auto end = header.find('"', pos + 1);
        if (end == std::string_view::npos) return false;
        if (header.substr(pos, end - pos + 1) == etag) return true;
        pos = end + 1;
    }
    return false;
}

struct ResolvedPath {
    http::status error = http::status::ok;  // ok: `file` is set; else the status to send
    fs::path file;
    std::string redirect;  // set for a directory requested without its trailing slash
};

ResolvedPath resolve(std::string_view target, const fs::path& root) {
    ResolvedPath out;
    // absolute-form (RFC 9112 section 3.2.2): keep only the path.
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.substr(0, scheme.size()) == scheme) {
            const auto slash = target.find('/', scheme.size());
            target = slash == std::string_view::npos ? std::string_view{"/"} : target.substr(slash);
        }
    }
    const auto query = target.find_first_of("?#");
    const std::string_view query_part = query == std::string_view::npos ? std::string_view{} : target.substr(query);
    const std::string_view raw_path = target.substr(0, query);
    if (raw_path.empty() || raw_path.front() != '/') {
        out.error = http::status::bad_request;
        return out;
    }
    // Decode exactly once: "%252e" stays "%2e" and is a file name, never "..".
    const auto decoded = percent_decode(raw_path);
    if (!decoded) {
        out.error = http::status::bad_request;
        return out;
    }
    std::vector<std::string_view> segments;
    std::string_view rest = *decoded;
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string_view seg = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (seg.empty() || seg == ".") continue;
        if (seg == "..") {
            if (segments.empty()) {  // would leave the root
                out.error = http::status::not_found;
                return out;
            }
            segments.pop_back();
            continue;
        }
        segments.push_back(seg);
    }
    const bool trailing_slash = decoded->back() == '/';

    fs::path path = root;
    for (auto seg : segments) path /= fs::path(std::string(seg));

    // Symlinks are followed, but the resolved path must stay inside the root.
    std::error_code ec;
    fs::path real = fs::weakly_canonical(path, ec);
    if (ec || !is_within(root, real)) {
        out.error = http::status::not_found;
        return out;
    }
    auto st = fs::status(real, ec);
    if (ec || !fs::exists(st)) {
        out.error = http::status::not_found;
        return out;
    }
    if (fs::is_directory(st)) {
        if (!trailing_slash) {
            out.error = http::status::moved_permanently;
            out.redirect = std::string(raw_path) + "/" + std::string(query_part);
            return out;
        }
        real = fs::weakly_canonical(real / index_file, ec);
        if (ec || !is_within(root, real)) {
            out.error = http::status::not_found;
            return out;
        }
        st = fs::status(real, ec);
    }
    if (ec || !fs::is_regular_file(st)) {  // no directory listings, FIFOs or devices
        out.error = http::status::not_found;
        return out;
    }
    out.file = std::move(real);
    return out;
}

template <class Body>
void set_validators(http::response<Body>& res, const std::string& etag, const std::string& last_modified) {
    res.set(http::field::etag, etag);
    res.set(http::field::last_modified, last_modified);
    res.set(http::field::cache_control, cache_control);
}

}  // namespace

unsigned response_status(const Response& res) {
    return std::visit([](const auto& r) { return r.result_int(); }, res);
}

std::uint64_t response_body_bytes(const Response& res) {
    if (const auto* s = std::get_if<StringResponse>(&res)) return s->body().size();
    if (const auto* f = std::get_if<FileResponse>(&res)) return f->body().length;
    return 0;
}

http::fields& response_fields(Response& res) {
    return std::visit([](auto& r) -> http::fields& { return r.base(); }, res);
}

Response make_error_response(http::status status, bool head_only, std::string_view detail) {
    const std::string reason{http::obsolete_reason(status)};
    const std::string code = std::to_string(static_cast<unsigned>(status));
    std::string body = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + code + " " + reason +
                       "</title></head>\n<body><h1>" + code + " " + reason + "</h1>\n<p>" + html_escape(detail) +
                       "</p>\n<hr><p>labtool</p></body></html>\n";
    if (head_only) {
        EmptyResponse res{status, 11};
        res.set(http::field::content_type, html_type);
        res.content_length(body.size());
        return res;
    }
    StringResponse res{status, 11};
    res.set(http::field::content_type, html_type);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

Response handle_request(const Request& req, const fs::path& root) {
    const bool head = req.method() == http::verb::head;
    if (req.method() != http::verb::get && !head) {
        // RFC 9110 section 15.5.6: 405 carries Allow with the supported methods.
        auto res = make_error_response(http::status::method_not_allowed, false,
                                       "This server only answers GET and HEAD.");
        response_fields(res).set(http::field::allow, allowed_methods);
        return res;
    }

    const ResolvedPath resolved = resolve(req.target(), root);
    if (resolved.error == http::status::moved_permanently) {
        auto res = make_error_response(resolved.error, head, "Moved to " + resolved.redirect);
        response_fields(res).set(http::field::location, resolved.redirect);
        return res;
    }
    if (resolved.error == http::status::bad_request)
        return make_error_response(resolved.error, head, "Malformed request target.");
    if (resolved.error != http::status::ok)
        return make_error_response(resolved.error, head, "The requested file was not found on this server.");

    boost::beast::error_code bec;
    boost::beast::file file;
    file.open(resolved.file.string().c_str(), boost::beast::file_mode::scan, bec);
    if (bec) {
        if (bec == boost::beast::errc::permission_denied)
            return make_error_response(http::status::forbidden, head, "The file cannot be read.");
        return make_error_response(http::status::not_found, head, "The requested file was not found on this server.");
    }
    const std::uint64_t size = file.size(bec);
    std::error_code ec;
    const auto mtime = fs::last_write_time(resolved.file, ec);
    if (bec || ec) return make_error_response(http::status::internal_server_error, head, "Cannot stat the file.");

    const std::string etag = make_etag(size, mtime);
    const auto mtime_sys = std::chrono::system_clock::time_point{std::chrono::seconds{file_time_seconds(mtime)}};
    const std::string last_modified = http_date(mtime_sys);
    const std::string content_type = mime_type(resolved.file.extension().string());

    // Conditional GET/HEAD (RFC 9110 section 13.2.2 order): If-None-Match wins; If-Modified-Since
    // is evaluated only without it. A match gives 304 with the validators and no body (15.4.5).
    bool not_modified = false;
    if (auto inm = req.find(http::field::if_none_match); inm != req.end()) {
        not_modified = if_none_match_matches(inm->value(), etag);
    } else if (auto ims = req.find(http::field::if_modified_since); ims != req.end()) {
        if (auto since = parse_http_date(ims->value()); since && mtime_sys <= *since) not_modified = true;
    }
    if (not_modified) {
        EmptyResponse res{http::status::not_modified, 11};
        set_validators(res, etag, last_modified);
        return res;
    }

    // Range applies to GET only (RFC 9110 section 14.2). If-Range (section 13.1.5): send the range
    // only if the validator still matches (strong comparison for an entity-tag, exact date for a
    // date); otherwise send the whole representation.
    ParsedRange range;
    if (auto r = req.find(http::field::range); r != req.end() && !head) {
        bool if_range_ok = true;
        if (auto ir = req.find(http::field::if_range); ir != req.end()) {
            const std::string_view v = ir->value();
            if (!v.empty() && (v.front() == '"' || v.substr(0, 2) == "W/")) {
                if_range_ok = v == etag;
            } else {
                auto d = parse_http_date(v);
                if_range_ok = d && *d == mtime_sys;
            }
        }
        if (if_range_ok) range = parse_range(r->value(), size);
    }

    if (range.result == RangeResult::unsatisfiable) {
        // RFC 9110 section 15.5.17: 416 with Content-Range: bytes */complete-length.
        auto res = make_error_response(http::status::range_not_satisfiable, false,
                                       "The requested range is outside the file.");
        auto& f = response_fields(res);
        f.set(http::field::content_range, "bytes */" + std::to_string(size));
        f.set(http::field::accept_ranges, "bytes");
        return res;
    }

    FileRangeBody::value_type body;
    body.offset = 0;
    body.length = size;
    http::status status = http::status::ok;
    if (range.result == RangeResult::satisfiable) {
        // RFC 9110 section 15.3.7 / 14.4: 206 with Content-Range: bytes first-last/complete-length.
        status = http::status::partial_content;
        body.offset = range.range.first;
        body.length = range.range.last - range.range.first + 1;
    }

    const std::uint64_t length = body.length;
    auto set_common = [&](auto& res) {
        res.set(http::field::content_type, content_type);
        res.set(http::field::accept_ranges, "bytes");
        set_validators(res, etag, last_modified);
        if (status == http::status::partial_content) {
            res.set(http::field::content_range, "bytes " + std::to_string(range.range.first) + "-" +
                                                    std::to_string(range.range.last) + "/" + std::to_string(size));
        }
        res.content_length(length);
    };

    if (head) {
        EmptyResponse res{status, 11};
        set_common(res);
        return res;
    }
    body.file = std::move(file);
    FileResponse res{std::piecewise_construct, std::make_tuple(std::move(body)), std::make_tuple(status, 11)};
    set_common(res);
    return res;
}

}  // namespace labtool::server::detail
