// Turns one parsed HTTP request into a response for a static file tree (no I/O on the socket).
// Private to labtool_server; the session adds Connection, Keep-Alive, Date and Server headers.
#pragma once

#include "file_range_body.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <filesystem>
#include <string_view>
#include <variant>

namespace labtool::server::detail {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using StringResponse = boost::beast::http::response<boost::beast::http::string_body>;
using EmptyResponse = boost::beast::http::response<boost::beast::http::empty_body>;
using FileResponse = boost::beast::http::response<FileRangeBody>;
using Response = std::variant<StringResponse, EmptyResponse, FileResponse>;

/// Status and body size of a response, for the access log.
unsigned response_status(const Response& res);
std::uint64_t response_body_bytes(const Response& res);
boost::beast::http::fields& response_fields(Response& res);

/// A small HTML error page (or its headers only, for HEAD) with the given status.
/// `detail` is plain text, HTML-escaped here.
Response make_error_response(boost::beast::http::status status, bool head_only, std::string_view detail);

/// Serves `req` from `root`, which must be an absolute, canonical directory path.
/// Never throws for bad input: every problem becomes a 4xx/5xx response.
Response handle_request(const Request& req, const std::filesystem::path& root);

}  // namespace labtool::server::detail
