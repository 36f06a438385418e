// Unit tests for labtool::server: a real Server on 127.0.0.1 (port 0) over a temp folder,
// driven by a Beast client whose every operation is bounded by a socket timeout.
#include "labtool/server/server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using labtool::server::Server;
using labtool::server::ServerConfig;

constexpr auto client_timeout = 5s;
const std::string index_html = "<!doctype html><html><head><meta charset=\"utf-8\"></head><body>hi</body></html>\n";
const std::string sub_index_html = "<!doctype html><p>sub</p>\n";
const std::string secret = "TOP-SECRET-OUTSIDE-ROOT";
constexpr std::size_t jpg_size = 30000;
constexpr std::size_t mp3_size = 200000;

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

void write_file(const fs::path& p, const std::string& content) {
    std::ofstream out(p, std::ios::binary);
    out << content;
}

using Response = http::response<http::string_body>;

// A blocking-style HTTP client built on async operations with timeouts, on its own io_context.
class Client {
public:
    explicit Client(std::uint16_t port, const std::string& host = "127.0.0.1") {
        stream_.expires_after(client_timeout);
        stream_.async_connect(tcp::endpoint(net::ip::make_address(host), port),
                              [this](beast::error_code ec) { ec_ = ec; });
        run();
    }

    beast::error_code connect_error() const { return ec_; }

    beast::error_code write_raw(const std::string& bytes) {
        stream_.expires_after(client_timeout);
        net::async_write(stream_, net::buffer(bytes), [this](beast::error_code ec, std::size_t) { ec_ = ec; });
        run();
        return ec_;
    }

    beast::error_code send(const std::string& method, const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& headers = {},
                           const std::string& version = "HTTP/1.1") {
        std::string req = method + " " + target + " " + version + "\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n";
        for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
        req += "\r\n";
        return write_raw(req);
    }

    /// Reads one response; `head` tells the parser that no body follows.
    std::optional<Response> read(bool head = false) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        parser.skip(head);
        stream_.expires_after(client_timeout);
        http::async_read(stream_, buffer_, parser, [this](beast::error_code ec, std::size_t) { ec_ = ec; });
        run();
        if (ec_) return std::nullopt;
        return parser.release();
    }

    std::optional<Response> get(const std::string& target,
                                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
        if (send("GET", target, headers)) return std::nullopt;
        return read();
    }

    /// True if the server closes the connection (EOF or reset) within `timeout`, with no bytes.
    bool closed_by_server(std::chrono::steady_clock::duration timeout = client_timeout) {
        if (buffer_.size() != 0) return false;
        char byte = 0;
        std::size_t n = 0;
        stream_.expires_after(timeout);
        stream_.async_read_some(net::buffer(&byte, 1), [&](beast::error_code ec, std::size_t got) {
            ec_ = ec;
            n = got;
        });
        run();
        return n == 0 && ec_ && ec_ != beast::error::timeout;
    }

    std::size_t buffered() const { return buffer_.size(); }

private:
    void run() {
        io_.restart();
        io_.run();
    }

    net::io_context io_;
    beast::tcp_stream stream_{io_};
    beast::flat_buffer buffer_;
    beast::error_code ec_;
};

class ServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        base_ = fs::temp_directory_path() /
                ("labtool_server_test_" + std::to_string(::getpid()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(base_);
        root_ = base_ / "root";
        fs::create_directories(root_ / "sub");
        write_file(root_ / "index.html", index_html);
        write_file(root_ / "sub" / "index.html", sub_index_html);
        jpg_ = random_bytes(jpg_size, 1);
        mp3_ = random_bytes(mp3_size, 2);
        write_file(root_ / "logo.jpg", jpg_);
        write_file(root_ / "audio.mp3", mp3_);
        write_file(root_ / "notes.txt", "plain text\n");
        write_file(root_ / "data.unknownext", "x");
        write_file(base_ / "outside.txt", secret);
        std::error_code ec;
        fs::create_symlink(base_ / "outside.txt", root_ / "link.txt", ec);
        fs::create_directory_symlink(base_, root_ / "up", ec);
    }

    void TearDown() override {
        stop_server();
        std::error_code ec;
        fs::remove_all(base_, ec);
    }

    ServerConfig config() {
        ServerConfig c;
        c.root = root_;
        c.hosts = {"127.0.0.1"};
        c.port = 0;
        return c;
    }

    void start_server(ServerConfig c) {
        server_.emplace(io_, std::move(c));
        ASSERT_FALSE(server_->start());
        ASSERT_NE(server_->port(), 0);
        thread_ = std::thread([this] { io_.run(); });
    }
    void start_server() { start_server(config()); }

    void stop_server() {
        if (server_) server_->stop();
        if (thread_.joinable()) thread_.join();
        server_.reset();
    }

    std::uint16_t port() const { return server_->port(); }

    fs::path base_;
    fs::path root_;
    std::string jpg_;
    std::string mp3_;
    net::io_context io_;
    std::optional<Server> server_;
    std::thread thread_;
};

TEST_F(ServerTest, RootServesIndexWithAllHeaders) {
    start_server();
    Client c(port());
    ASSERT_FALSE(c.connect_error());
    auto res = c.get("/");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::ok);
    EXPECT_EQ((*res)[http::field::content_type], "text/html; charset=utf-8");
    EXPECT_EQ((*res)[http::field::content_length], std::to_string(index_html.size()));
    EXPECT_EQ(res->body(), index_html);
    EXPECT_EQ((*res)[http::field::server], "labtool");
    EXPECT_EQ((*res)[http::field::accept_ranges], "bytes");
    EXPECT_EQ((*res)[http::field::cache_control], "public, max-age=0");
    EXPECT_EQ((*res)[http::field::connection], "keep-alive");
    EXPECT_EQ((*res)[http::field::keep_alive], "timeout=5");
    EXPECT_FALSE((*res)[http::field::date].empty());
    EXPECT_FALSE((*res)[http::field::last_modified].empty());
    const std::string etag{(*res)[http::field::etag]};
    ASSERT_GE(etag.size(), 2u);
    EXPECT_EQ(etag.front(), '"');  // strong validator: no W/
    EXPECT_EQ(etag.back(), '"');
}

TEST_F(ServerTest, ContentTypesAndLengths) {
    start_server();
    Client c(port());
    struct Case {
        std::string target;
        std::string type;
        std::string body;
    };
    for (const auto& k : {Case{"/logo.jpg", "image/jpeg", jpg_}, Case{"/audio.mp3", "audio/mpeg", mp3_},
                          Case{"/notes.txt", "text/plain; charset=utf-8", "plain text\n"},
                          Case{"/data.unknownext", "application/octet-stream", "x"},
                          Case{"/index.html?v=3", "text/html; charset=utf-8", index_html}}) {
        auto res = c.get(k.target);
        ASSERT_TRUE(res) << k.target;
        EXPECT_EQ(res->result(), http::status::ok) << k.target;
        EXPECT_EQ((*res)[http::field::content_type], k.type) << k.target;
        EXPECT_EQ((*res)[http::field::content_length], std::to_string(k.body.size())) << k.target;
        EXPECT_TRUE(res->body() == k.body) << k.target;
    }
}

TEST_F(ServerTest, DirectoryIndexAndRedirect) {
    start_server();
    Client c(port());
    auto res = c.get("/sub/");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::ok);
    EXPECT_EQ(res->body(), sub_index_html);
    res = c.get("/sub?x=1");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::moved_permanently);
    EXPECT_EQ((*res)[http::field::location], "/sub/?x=1");
}

TEST_F(ServerTest, MissingFileIs404WithHtmlBody) {
    start_server();
    Client c(port());
    auto res = c.get("/nope.png");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::not_found);
    EXPECT_EQ((*res)[http::field::content_type], "text/html; charset=utf-8");
    EXPECT_NE(res->body().find("404"), std::string::npos);
    // The connection stays usable after a 404.
    res = c.get("/");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::ok);
}

TEST_F(ServerTest, NothingOutsideTheRootIsServed) {
    start_server();
    for (const std::string target :
         {"/../outside.txt", "/%2e%2e/outside.txt", "/%2E%2E/outside.txt", "/sub/../../outside.txt",
          "/sub/%2e%2e/%2e%2e/outside.txt", "/..%2foutside.txt", "/%2e%2e%2foutside.txt", "/link.txt",
          "/up/outside.txt", "//../outside.txt", "/..\\outside.txt",
          "http://127.0.0.1/../outside.txt"}) {
        Client c(port());
        auto res = c.get(target);
        ASSERT_TRUE(res) << target;
        EXPECT_NE(res->result(), http::status::ok) << target;
        EXPECT_EQ(res->body().find(secret), std::string::npos) << target;
    }
}

TEST_F(ServerTest, MalformedEscapesAndNulAre400) {
    start_server();
    for (const std::string target : {"/%zz", "/%2", "/index.html%00", "/%00/../index.html"}) {
        Client c(port());
        auto res = c.get(target);
        ASSERT_TRUE(res) << target;
        EXPECT_EQ(res->result(), http::status::bad_request) << target;
    }
    // Decoded only once: "%252e%252e" is the literal name "%2e%2e", which does not exist.
    Client c(port());
    auto res = c.get("/%252e%252e/outside.txt");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::not_found);
}

TEST_F(ServerTest, HeadSendsHeadersWithoutBody) {
    start_server();
    Client c(port());
    ASSERT_FALSE(c.send("HEAD", "/logo.jpg"));
    auto res = c.read(/*head=*/true);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::ok);
    EXPECT_EQ((*res)[http::field::content_length], std::to_string(jpg_size));
    EXPECT_EQ((*res)[http::field::content_type], "image/jpeg");
    EXPECT_EQ(c.buffered(), 0u);
    // If any body bytes had been sent, the next response would not parse.
    auto next = c.get("/notes.txt");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->result(), http::status::ok);
    EXPECT_EQ(next->body(), "plain text\n");
}

TEST_F(ServerTest, RangeFromZeroIs206WithWholeFile) {
    start_server();
    Client c(port());
    auto res = c.get("/audio.mp3", {{"Range", "bytes=0-"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::partial_content);
    EXPECT_EQ((*res)[http::field::content_range], "bytes 0-" + std::to_string(mp3_size - 1) + "/" + std::to_string(mp3_size));
    EXPECT_EQ((*res)[http::field::content_length], std::to_string(mp3_size));
    EXPECT_EQ((*res)[http::field::content_type], "audio/mpeg");
    EXPECT_TRUE(res->body() == mp3_);
}

TEST_F(ServerTest, ClosedAndSuffixRanges) {
    start_server();
    Client c(port());
    auto res = c.get("/logo.jpg", {{"Range", "bytes=10-19"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::partial_content);
    EXPECT_EQ((*res)[http::field::content_range], "bytes 10-19/" + std::to_string(jpg_size));
    EXPECT_EQ(res->body(), jpg_.substr(10, 10));

    res = c.get("/logo.jpg", {{"Range", "bytes=-5"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::partial_content);
    EXPECT_EQ(res->body(), jpg_.substr(jpg_size - 5));

    res = c.get("/logo.jpg", {{"Range", "bytes=29990-99999999"}});  // last-pos clipped
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::partial_content);
    EXPECT_EQ((*res)[http::field::content_range], "bytes 29990-29999/30000");
    EXPECT_EQ(res->body(), jpg_.substr(29990));
}

TEST_F(ServerTest, UnsatisfiableRangeIs416) {
    start_server();
    Client c(port());
    auto res = c.get("/logo.jpg", {{"Range", "bytes=" + std::to_string(jpg_size) + "-"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::range_not_satisfiable);
    EXPECT_EQ((*res)[http::field::content_range], "bytes */" + std::to_string(jpg_size));
    res = c.get("/logo.jpg", {{"Range", "bytes=-0"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::range_not_satisfiable);
}

TEST_F(ServerTest, MalformedOrMultipleRangesGetTheWholeFile) {
    start_server();
    Client c(port());
    for (const std::string range : {"bytes=0-1,5-6", "bytes=5-2", "items=0-1", "bytes=abc", "bytes=-"}) {
        auto res = c.get("/logo.jpg", {{"Range", range}});
        ASSERT_TRUE(res) << range;
        EXPECT_EQ(res->result(), http::status::ok) << range;
        EXPECT_EQ(res->body().size(), jpg_size) << range;
    }
}

TEST_F(ServerTest, ConditionalRequests) {
    start_server();
    Client c(port());
    auto first = c.get("/logo.jpg");
    ASSERT_TRUE(first);
    const std::string etag{(*first)[http::field::etag]};
    const std::string last_modified{(*first)[http::field::last_modified]};

    auto res = c.get("/logo.jpg", {{"If-None-Match", etag}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::not_modified);
    EXPECT_EQ((*res)[http::field::etag], etag);
    EXPECT_TRUE(res->body().empty());

    res = c.get("/logo.jpg", {{"If-Modified-Since", last_modified}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::not_modified);

    res = c.get("/logo.jpg", {{"If-None-Match", "\"other\""}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::ok);

    // If-Range with the current ETag honours the range; a stale one sends the whole file.
    res = c.get("/logo.jpg", {{"Range", "bytes=0-9"}, {"If-Range", etag}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::partial_content);
    res = c.get("/logo.jpg", {{"Range", "bytes=0-9"}, {"If-Range", "\"stale\""}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::ok);
    EXPECT_EQ(res->body().size(), jpg_size);
}

TEST_F(ServerTest, KeepAliveAnswersTwoRequestsOnOneConnection) {
    start_server();
    Client c(port());
    auto a = c.get("/");
    auto b = c.get("/logo.jpg");
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(a->result(), http::status::ok);
    EXPECT_EQ(b->result(), http::status::ok);
    EXPECT_TRUE(b->body() == jpg_);
}

TEST_F(ServerTest, PipelinedRequestsAnsweredInOrder) {
    start_server();
    Client c(port());
    ASSERT_FALSE(c.write_raw("GET /notes.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /sub/ HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto a = c.read();
    auto b = c.read();
    auto d = c.read();
    ASSERT_TRUE(a && b && d);
    EXPECT_EQ(a->body(), "plain text\n");
    EXPECT_EQ(b->result(), http::status::not_found);
    EXPECT_EQ(d->body(), sub_index_html);
}

TEST_F(ServerTest, ConnectionCloseMakesServerClose) {
    start_server();
    Client c(port());
    auto res = c.get("/", {{"Connection", "close"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::ok);
    EXPECT_EQ((*res)[http::field::connection], "close");
    EXPECT_TRUE((*res)[http::field::keep_alive].empty());
    EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAliveAsked) {
    start_server();
    {
        Client c(port());
        ASSERT_FALSE(c.send("GET", "/", {}, "HTTP/1.0"));
        auto res = c.read();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->result(), http::status::ok);
        EXPECT_EQ((*res)[http::field::connection], "close");
        EXPECT_TRUE(c.closed_by_server());
    }
    {
        Client c(port());
        ASSERT_FALSE(c.send("GET", "/", {{"Connection", "keep-alive"}}, "HTTP/1.0"));
        auto res = c.read();
        ASSERT_TRUE(res);
        EXPECT_EQ((*res)[http::field::connection], "keep-alive");
        ASSERT_FALSE(c.send("GET", "/notes.txt", {{"Connection", "keep-alive"}}, "HTTP/1.0"));
        res = c.read();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->body(), "plain text\n");
    }
}

TEST_F(ServerTest, IdleKeepAliveTimeoutClosesConnection) {
    auto cfg = config();
    cfg.keep_alive_timeout = 1s;
    start_server(cfg);
    Client c(port());
    auto res = c.get("/");
    ASSERT_TRUE(res);
    EXPECT_EQ((*res)[http::field::keep_alive], "timeout=1");
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(c.closed_by_server(4s));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 500ms);
}

TEST_F(ServerTest, OtherMethodsGet405WithAllow) {
    start_server();
    Client c(port());
    ASSERT_FALSE(c.write_raw("POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
    auto res = c.read();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::method_not_allowed);
    EXPECT_EQ((*res)[http::field::allow], "GET, HEAD");
    // The body was consumed: the connection still works.
    auto next = c.get("/notes.txt");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body(), "plain text\n");
    ASSERT_FALSE(c.send("DELETE", "/index.html"));
    res = c.read();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::method_not_allowed);
}

TEST_F(ServerTest, GarbageGets400AndClose) {
    start_server();
    Client c(port());
    ASSERT_FALSE(c.write_raw("THIS IS NOT HTTP\r\n\r\n"));
    auto res = c.read();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::bad_request);
    EXPECT_TRUE(c.closed_by_server());
}

// RFC 9112 sections 6.1 and 6.3: a body is framed by Content-Length or by "chunked" as the one
// transfer coding. Anything else would be read as a request without a body, its body then parsed
// as the next request (smuggling): 400 and close, before any body byte is taken.
TEST_F(ServerTest, TransferEncodingOtherThanChunkedAloneIs400AndClose) {
    start_server();
    for (const std::string te : {"xchunked", "chunked, identity", "identity", "gzip, chunked", "chunked;x=1",
                                 "chunked\r\nTransfer-Encoding: gzip", "gzip\r\nTransfer-Encoding: chunked", ""}) {
        Client c(port());
        ASSERT_FALSE(c.write_raw("GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + te +
                                 "\r\n\r\n0\r\n\r\nGET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        auto res = c.read();
        ASSERT_TRUE(res) << te;
        EXPECT_EQ(res->result(), http::status::bad_request) << te;
        EXPECT_EQ((*res)[http::field::connection], "close") << te;
        EXPECT_TRUE(c.closed_by_server()) << te << ": the smuggled request was answered";
    }
    // Both framings at once, in either order, and Transfer-Encoding in HTTP/1.0.
    for (const std::string fields : {"Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n",
                                     "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                                     "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"}) {
        Client c(port());
        ASSERT_FALSE(c.write_raw("GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields + "\r\n0\r\n\r\n"));
        auto res = c.read();
        ASSERT_TRUE(res) << fields;
        EXPECT_EQ(res->result(), http::status::bad_request) << fields;
        EXPECT_TRUE(c.closed_by_server()) << fields;
    }
    {
        Client c(port());
        ASSERT_FALSE(c.write_raw("GET /notes.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
        auto res = c.read();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->result(), http::status::bad_request);
        EXPECT_TRUE(c.closed_by_server());
    }
    // Exactly chunked (any case, optional whitespace): the body is read and skipped, the
    // connection stays usable.
    for (const std::string te : {"chunked", "Chunked", " chunked ", "chunked,"}) {
        Client c(port());
        ASSERT_FALSE(c.write_raw("GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + te +
                                 "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
        auto res = c.read();
        ASSERT_TRUE(res) << te;
        EXPECT_EQ(res->result(), http::status::ok) << te;
        EXPECT_EQ(res->body(), "plain text\n") << te;
        res = c.get("/notes.txt");
        ASSERT_TRUE(res) << te;
        EXPECT_EQ(res->result(), http::status::ok) << te;
    }
}

// "GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fill: xxx…\r\n\r\n" of exactly `total` bytes.
std::string head_of_size(std::size_t total) {
    const std::string start = "GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fill: ";
    const std::string end = "\r\n\r\n";
    return start + std::string(total - start.size() - end.size(), 'x') + end;
}

// README: "a request head (request line, header fields and the empty line that ends them) over
// 16 KiB, 16384 bytes, gets 431".
TEST_F(ServerTest, RequestHeadOver16KiBIs431) {
    start_server();
    for (const std::size_t size : {std::size_t{16384}, std::size_t{16000}, std::size_t{9000}}) {
        Client c(port());
        ASSERT_FALSE(c.write_raw(head_of_size(size)));
        auto res = c.read();
        ASSERT_TRUE(res) << size;
        EXPECT_EQ(res->result(), http::status::ok) << size;
    }
    for (const std::size_t size : {std::size_t{16385}, std::size_t{20000}, std::size_t{24000}}) {
        Client c(port());
        ASSERT_FALSE(c.write_raw(head_of_size(size)));
        auto res = c.read();
        ASSERT_TRUE(res) << size;
        EXPECT_EQ(res->result(), http::status::request_header_fields_too_large) << size;
        EXPECT_TRUE(c.closed_by_server()) << size;
    }
    // A head that arrives in pieces, the request line split across reads: 431 over the limit,
    // and a short request line is never mistaken for a long one (414) when it ended in a later read.
    for (const std::size_t size : {std::size_t{12000}, std::size_t{20000}}) {
        Client c(port());
        const std::string head = head_of_size(size);
        ASSERT_FALSE(c.write_raw(head.substr(0, 10)));
        std::this_thread::sleep_for(100ms);
        ASSERT_FALSE(c.write_raw(head.substr(10, 9000)));
        std::this_thread::sleep_for(100ms);
        ASSERT_FALSE(c.write_raw(head.substr(9010)));
        auto res = c.read();
        ASSERT_TRUE(res) << size;
        EXPECT_EQ(res->result(), size > 16384 ? http::status::request_header_fields_too_large : http::status::ok)
            << size;
    }
}

// RFC 9112 section 3.2: no whitespace inside the request-target; such a line is malformed (400),
// never a request of another HTTP version (505).
TEST_F(ServerTest, WhitespaceInTheTargetIs400Not505) {
    start_server();
    for (const std::string line : {"GET /some thing.txt HTTP/1.1", "GET /a b c HTTP/1.1", "GET /a  HTTP/1.1",
                                   "GET  /a HTTP/1.1", "GET /a b HTTP/2.0", "GET /a\tb HTTP/1.1"}) {
        Client c(port());
        ASSERT_FALSE(c.write_raw(line + "\r\nHost: 127.0.0.1\r\n\r\n"));
        auto res = c.read();
        ASSERT_TRUE(res) << line;
        EXPECT_EQ(res->result(), http::status::bad_request) << line;
        EXPECT_TRUE(c.closed_by_server()) << line;
    }
    Client c(port());
    ASSERT_FALSE(c.write_raw("GET /notes.txt HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n"));
    auto res = c.read();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::http_version_not_supported);
}

// Dates system_clock's nanoseconds cannot hold (after 2262, before 1677) compare like any other
// (UBSan reported a signed overflow); a date no HTTP-date format allows is ignored.
TEST_F(ServerTest, ConditionalDatesFarFromTheFileTime) {
    start_server();
    Client c(port());
    const auto get_status = [&](const char* field, const std::string& date) {
        auto res = c.get("/logo.jpg", {{field, date}});
        return res ? static_cast<int>(res->result_int()) : 0;
    };
    for (const std::string future : {"Fri, 31 Dec 9999 23:59:59 GMT", "Sat, 12 Apr 2262 00:00:00 GMT",
                                     "Fri Dec 31 23:59:59 9999", "Mon, 01 Jan 3000 00:00:00 GMT"}) {
        EXPECT_EQ(get_status("If-Modified-Since", future), 304) << future;    // not modified since then
        EXPECT_EQ(get_status("If-Unmodified-Since", future), 200) << future;  // not modified since: proceed
    }
    for (const std::string past : {"Mon, 01 Jan 0001 00:00:00 GMT", "Sat, 01 Jan 1600 00:00:00 GMT",
                                   "Wed, 31 Dec 1969 23:59:59 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"}) {
        EXPECT_EQ(get_status("If-Modified-Since", past), 200) << past;    // modified since
        EXPECT_EQ(get_status("If-Unmodified-Since", past), 412) << past;  // modified since: fails
    }
    for (const std::string invalid : {"Sun, 01 Jan 99999 00:00:00 GMT", "Sun Jan  1 00:00:00 99999", "99999"}) {
        EXPECT_EQ(get_status("If-Modified-Since", invalid), 200) << invalid;  // ignored
        EXPECT_EQ(get_status("If-Unmodified-Since", invalid), 200) << invalid;
    }
}

TEST_F(ServerTest, PortInUseIsAnErrorNotAnException) {
    start_server();
    net::io_context other_io;
    ServerConfig cfg = config();
    cfg.port = port();
    Server other(other_io, cfg);
    std::error_code ec;
    EXPECT_NO_THROW(ec = other.start());
    EXPECT_EQ(ec, std::errc::address_in_use) << ec.message();
}

TEST_F(ServerTest, UnavailableHostIsSkippedWhenAnotherBinds) {
    auto cfg = config();
    cfg.hosts = {"192.0.2.1", "127.0.0.1"};  // TEST-NET-1: not assigned to this machine
    start_server(cfg);
    Client c(port());
    auto res = c.get("/");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::ok);

    net::io_context other_io;
    ServerConfig only_missing = config();
    only_missing.hosts = {"192.0.2.1"};
    Server other(other_io, only_missing);
    EXPECT_TRUE(other.start());
}

TEST_F(ServerTest, EphemeralPortIsSharedByAllHosts) {
    auto cfg = config();
    cfg.hosts = {"127.0.0.1", "::1"};
    start_server(cfg);
    Client v4(port(), "127.0.0.1");
    ASSERT_FALSE(v4.connect_error());
    Client v6(port(), "::1");
    if (v6.connect_error()) GTEST_SKIP() << "no IPv6 loopback here";
    auto res = v6.get("/");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::ok);
}

TEST_F(ServerTest, StopClosesIdleConnectionsAndRunReturns) {
    start_server();
    Client c(port());
    auto res = c.get("/");
    ASSERT_TRUE(res);
    const auto t0 = std::chrono::steady_clock::now();
    server_->stop();
    EXPECT_TRUE(c.closed_by_server(3s));
    thread_.join();  // io_context::run() returned: no work left
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    Client late(port());
    EXPECT_TRUE(late.connect_error());
}

TEST_F(ServerTest, MissingRootIsAnError) {
    auto cfg = config();
    cfg.root = base_ / "does-not-exist";
    Server s(io_, cfg);
    EXPECT_TRUE(s.start());
}

TEST_F(ServerTest, AccessLogLinePerRequestAndSilentWhenDisabled) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    auto logger = std::make_shared<spdlog::logger>("server", sink);
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::info);
    spdlog::drop("server");
    spdlog::register_logger(logger);

    start_server();
    {
        Client c(port());
        auto res = c.get("/logo.jpg");
        ASSERT_TRUE(res);
    }
    stop_server();
    logger->flush();
    const std::string line = out.str();
    EXPECT_NE(line.find("GET /logo.jpg 200 30000 B client 127.0.0.1:"), std::string::npos) << line;
    EXPECT_NE(line.find(" ms"), std::string::npos) << line;

    out.str("");
    auto cfg = config();
    cfg.access_log = false;
    io_.restart();
    start_server(cfg);
    {
        Client c(port());
        auto res = c.get("/logo.jpg");
        ASSERT_TRUE(res);
    }
    stop_server();
    logger->flush();
    EXPECT_EQ(out.str().find("GET /logo.jpg"), std::string::npos) << out.str();
    spdlog::drop("server");
}

TEST(BuiltinWwwRoot, FindsTheLabPage) {
    const auto root = labtool::server::builtin_www_root();
    ASSERT_FALSE(root.empty());
    EXPECT_TRUE(fs::is_regular_file(root / "index.html"));
}

}  // namespace
