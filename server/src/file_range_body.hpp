// A Beast body that sends [offset, offset + length) of an open file: whole files and byte ranges.
// Beast 1.74's file_body always sends to the end of the file through a 4 KiB buffer.
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/file.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

namespace labtool::server::detail {

struct FileRangeBody {
    // Bytes read per chunk. Beast's file_body uses 4 KiB; each chunk becomes one send(), so on
    // loopback (no segmentation) 4 KiB writes would show up as 4 KiB segments in a capture instead
    // of segments limited by the MSS and socket buffers. 64 KiB also means far fewer syscalls.
    static constexpr std::size_t chunk_bytes = 64 * 1024;

    struct value_type {
        boost::beast::file file;
        std::uint64_t offset = 0;
        std::uint64_t length = 0;
    };

    static std::uint64_t size(const value_type& body) { return body.length; }

    class writer {
    public:
        using const_buffers_type = boost::asio::const_buffer;

        template <bool IsRequest, class Fields>
        writer(boost::beast::http::header<IsRequest, Fields>&, value_type& body)
            : body_(body), remaining_(body.length), buffer_(std::make_unique<char[]>(chunk_bytes)) {}

        void init(boost::beast::error_code& ec) {
            ec = {};
            if (body_.length > 0) body_.file.seek(body_.offset, ec);
        }

        boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
            ec = {};
            const auto amount = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, chunk_bytes));
            if (amount == 0) return boost::none;
            const std::size_t n = body_.file.read(buffer_.get(), amount, ec);
            if (ec) return boost::none;
            if (n == 0) {
                // The file shrank after Content-Length was sent: the message cannot be completed.
                ec = boost::beast::http::error::short_read;
                return boost::none;
            }
            remaining_ -= n;
            return {{const_buffers_type{buffer_.get(), n}, remaining_ > 0}};
        }

    private:
        value_type& body_;
        std::uint64_t remaining_;
        std::unique_ptr<char[]> buffer_;
    };
};

}  // namespace labtool::server::detail
