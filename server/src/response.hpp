// A response as the session writes it: status, header lines, and a body that is nothing, an owned
// string, a slice of a cached file, or a slice of an open file (sent with sendfile on Linux).
// Private to labtool_server.
#pragma once

#include "labtool/platform/files.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace labtool::server::detail {

enum class BodyKind {
    none,    // no body (HEAD, 304, or an empty file)
    text,    // Response::text
    shared,  // [offset, offset + length) of *Response::shared (a cached file)
    file,    // [offset, offset + length) of Response::file
};

struct Response {
    unsigned status = 200;
    std::string fields;  // "Name: value\r\n" lines; the session adds Date, Server and Connection
    BodyKind kind = BodyKind::none;
    std::string text;
    std::shared_ptr<const std::string> shared;
    platform::File file;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;  // body bytes of a shared or file body

    void add(std::string_view name, std::string_view value) {
        fields.append(name);
        fields.append(": ");
        fields.append(value);
        fields.append("\r\n");
    }

    /// Bytes of body this response sends (0 for HEAD and 304).
    [[nodiscard]] std::uint64_t body_bytes() const {
        switch (kind) {
            case BodyKind::none: return 0;
            case BodyKind::text: return text.size();
            case BodyKind::shared:
            case BodyKind::file: return length;
        }
        return 0;
    }
};

/// The reason phrase for the status codes this server sends ("OK", "Not Found", ...).
std::string_view reason_phrase(unsigned status);

}  // namespace labtool::server::detail
