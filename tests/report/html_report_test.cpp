// The HTML report on a page load built in the test (handshake, GET, a 206 in two segments, a
// 3-packet close): lanes per role, one arrow per packet, the states each side enters, the HTTP
// exchange, escaping, no external resources, both languages; the bound on long connections; and
// (label e2e) the page rendered by Debian's headless Chromium: its DOM and a screenshot.
#include "html_report.hpp"
#include "packet_builder.hpp"
#include "process.hpp"
#include "render_frames.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace labtool::cli {
namespace {

namespace a = labtool::analysis;
namespace f = a::tcp_flag;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

using Frames = std::vector<std::vector<std::uint8_t>>;

/// A small conversation: handshake, GET `uri`, a 206 in 2 segments, client ACK, 3-packet close.
/// `extra_data` more client→server and ACK pairs are inserted before the close (to make it long).
Frames conversation(const std::string& uri, int extra_data = 0) {
    test::ConversationBuilder conv;
    auto send = [&](bool client, std::uint8_t flags, const std::string& payload) { conv.send(client, flags, payload); };
    send(true, f::syn, "");
    send(false, f::syn | f::ack, "");
    send(true, f::ack, "");
    const std::string get = "GET " + uri +
                            " HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120\r\n"
                            "Range: bytes=0-\r\n\r\n";
    send(true, f::psh | f::ack, get);
    send(false, f::ack,
         "HTTP/1.1 206 Partial Content\r\nServer: labtool\r\nContent-Type: audio/mpeg\r\nContent-Range: bytes 0-2999/3000\r\n"
         "Content-Length: 3000\r\n\r\n" +
             std::string(1000, 'x'));
    send(false, f::psh | f::ack, std::string(2000, 'y'));
    send(true, f::ack, "");
    for (int i = 0; i < extra_data; ++i) {
        send(false, f::ack, std::string(100, 'z'));
        send(true, f::ack, "");
    }
    send(true, f::fin | f::ack, "");
    send(false, f::fin | f::ack, "");
    send(true, f::ack, "");
    return conv.frames;
}

std::string render(Lang lang, const Frames& frames, const std::string& title = "page-load.pcap") {
    std::ostringstream out;
    auto r = make_html_report(out, lang, title);
    test::render_frames(*r, frames, true);
    return out.str();
}

std::size_t count(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + needle.size())) ++n;
    return n;
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

TEST(HtmlReport, LaddersLanesStatesAndExchanges) {
    const std::string h = render(Lang::en, conversation("/audio.mp3"));
    EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_TRUE(has(h, "<html lang=\"en\">"));
    EXPECT_TRUE(has(h, "</html>"));
    EXPECT_EQ(count(h, "<svg"), 1u);
    EXPECT_EQ(count(h, "</svg>"), 1u);
    EXPECT_EQ(h.find("[format error"), std::string::npos);
    EXPECT_TRUE(has(h, "page-load.pcap"));
    // Two role lanes, named as in the terminal ladder (the server by its Server header), with ports.
    EXPECT_TRUE(has(h, ">client :52126</text>"));
    EXPECT_TRUE(has(h, ">labtool :3000</text>"));
    EXPECT_EQ(count(h, "<g class=\"lane "), 2u);
    // One arrow per packet (10), colour-coded; and one <details> per packet.
    EXPECT_EQ(count(h, "<g class=\"arrow "), 10u);
    EXPECT_EQ(count(h, "<g class=\"arrow syn\""), 2u);
    EXPECT_EQ(count(h, "<g class=\"arrow fin\""), 2u);
    EXPECT_EQ(count(h, "<g class=\"arrow data\""), 3u);
    EXPECT_EQ(count(h, "<g class=\"arrow ack\""), 3u);
    EXPECT_EQ(count(h, "<details id=\"p-0-"), 10u);
    EXPECT_EQ(count(h, "marker-end=\"url(#ah-0-"), 10u);
    EXPECT_TRUE(has(h, "SYN,ACK  seq=0 ack=1 len=0"));
    EXPECT_TRUE(has(h, "PSH,ACK  seq=1132 ack=123 len=2000"));
    // States beside the lanes, and each side's timeline.
    for (const char* s : {"SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "CLOSE-WAIT", "LAST-ACK", "TIME-WAIT", "CLOSED", "LISTEN"})
        EXPECT_TRUE(has(h, std::string(">") + s + "</text>")) << s;
    EXPECT_TRUE(has(h, "<span class=\"chip\">FIN-WAIT-1 <small>#8 ·"));
    EXPECT_TRUE(has(h, "<span class=\"chip\">TIME-WAIT <small>#9 ·"));
    // The HTTP exchange on the diagram and in the table.
    EXPECT_TRUE(has(h, "→ GET /audio.mp3"));
    EXPECT_TRUE(has(h, "← 206 Partial Content · 3"));
    EXPECT_TRUE(has(h, "GET /audio.mp3 HTTP/1.1</td><td>206 Partial Content</td>"));
    EXPECT_TRUE(has(h, "a 3-packet close"));
    // Packet fields: raw and relative numbers, window scaling.
    EXPECT_TRUE(has(h, "1 relative · 1055145364 raw"));
    EXPECT_TRUE(has(h, "65535 × 256 (window scale) = 16776960 bytes"));
    EXPECT_TRUE(has(h, "1 = seq 0 + len 0 + 1 (a SYN or FIN takes one sequence number)"));
}

TEST(HtmlReport, SelfContainedAndEscaped) {
    const std::string evil = "/a<script>alert(1)</script>&b=\"x\"";
    const std::string h = render(Lang::en, conversation(evil), "<b>title</b>.pcap");
    EXPECT_FALSE(has(h, "<script>alert"));
    EXPECT_FALSE(has(h, "<b>title"));
    EXPECT_TRUE(has(h, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;b=&quot;x&quot;"));
    EXPECT_TRUE(has(h, "&lt;b&gt;title&lt;/b&gt;.pcap"));
    EXPECT_EQ(count(h, "<script"), 1u);   // only the inline one that opens details
    EXPECT_FALSE(has(h, "<script src"));
    EXPECT_FALSE(has(h, "<link"));
    EXPECT_FALSE(has(h, "@import"));
    EXPECT_FALSE(has(h, "url(http"));
    const std::regex external(R"((src|href)\s*=\s*["']?\s*[a-zA-Z][a-zA-Z0-9+.-]*:)");
    EXPECT_FALSE(std::regex_search(h, external)) << "a src/href with a scheme";
    EXPECT_FALSE(has(h, "https://"));
    // Control bytes and invalid UTF-8 (here in the title; the engine rejects them in a request
    // target) are shown as \xNN, not passed through; valid UTF-8 is kept.
    const std::string weird = render(Lang::en, conversation("/audio.mp3"), std::string("x\x01\xff音.pcap"));
    EXPECT_TRUE(has(weird, "x\\x01\\xFF音.pcap"));
}

TEST(HtmlReport, ChineseHeadingsAndEveryMessageFormats) {
    const std::string zh = render(Lang::zh, conversation("/audio.mp3"));
    EXPECT_EQ(zh.find("[format error"), std::string::npos);
    EXPECT_TRUE(has(zh, "<html lang=\"zh-CN\">"));
    EXPECT_TRUE(has(zh, ">客户端 :52126</text>"));
    EXPECT_TRUE(has(zh, "时序图"));
    EXPECT_TRUE(has(zh, "双方的 TCP 状态"));
    EXPECT_TRUE(has(zh, "FIN-WAIT-1"));
    EXPECT_FALSE(has(zh, "Sequence diagram"));
    EXPECT_FALSE(has(zh, "Packet details"));
    const std::string en = render(Lang::en, conversation("/audio.mp3"));
    EXPECT_TRUE(has(en, "Sequence diagram"));
}

TEST(HtmlReport, LongConnectionsAreBounded) {
    // 10 + 2 × 200 packets: the first 150 and the last 50 are drawn, with a marker between.
    const std::string h = render(Lang::en, conversation("/big", 200));
    EXPECT_EQ(count(h, "<g class=\"arrow "), 200u);
    EXPECT_EQ(count(h, "<details id=\"p-0-"), 200u);
    EXPECT_TRUE(has(h, "… 210 packets not drawn (frames 151–360) …")) << h.substr(0, 2000);
    EXPECT_TRUE(has(h, "href=\"#p-0-150\""));
    EXPECT_FALSE(has(h, "href=\"#p-0-151\""));
    EXPECT_TRUE(has(h, "href=\"#p-0-361\""));
    EXPECT_TRUE(has(h, "href=\"#p-0-410\""));
    // The last known states still appear after the gap.
    EXPECT_TRUE(has(h, ">TIME-WAIT</text>"));
    EXPECT_EQ(h.find("[format error"), std::string::npos);
}

TEST(HtmlReport, EmptyCapture) {
    const std::string h = render(Lang::en, {});
    EXPECT_TRUE(has(h, "no TCP connection in this capture"));
    EXPECT_TRUE(has(h, "</html>"));
}

// ---- Chromium ----

using e2e::chromium_argv;
using e2e::chromium_binary;

/// Writes a screenshot of `html` to `png`; returns chromium's exit and stderr on failure.
std::string screenshot(const fs::path& html, const fs::path& png, const fs::path& work, const std::string& size) {
    auto args = chromium_argv(work / "profile-shot", 3000);
    args.insert(args.end(), {"--hide-scrollbars", "--screenshot=" + png.string(), "--window-size=" + size,
                             "file://" + html.string()});
    const auto r = e2e::run_command(args, work, 75s);
    return r.exit_code == 0 ? std::string() : "exit " + std::to_string(r.exit_code) + ":\n" + r.err;
}

TEST(HtmlReportChromium, RendersTheDiagram) {
    E2E_REQUIRE_TOOL(fs::exists(chromium_binary), chromium_binary.string());
    e2e::TempDir dir;
    const fs::path html = dir / "report.html";
    e2e::write_text(html, render(Lang::en, conversation("/audio.mp3")));
    auto args = chromium_argv(dir / "profile-dom", 3000);
    args.insert(args.end(), {"--dump-dom", "file://" + html.string()});
    const auto r = e2e::run_command(args, dir.path(), 75s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string& dom = r.out;
    EXPECT_TRUE(has(dom, "<svg")) << dom.substr(0, 1000);
    EXPECT_TRUE(has(dom, "client :52126"));
    EXPECT_TRUE(has(dom, "labtool :3000"));
    EXPECT_EQ(count(dom, "<g class=\"arrow "), 10u);
    EXPECT_TRUE(has(dom, "FIN-WAIT-1"));
    EXPECT_TRUE(has(dom, "TIME-WAIT"));

    const fs::path png = dir / "r.png";
    const std::string problem = screenshot(html, png, dir.path(), "1200,2000");
    ASSERT_TRUE(problem.empty()) << problem;
    ASSERT_TRUE(fs::exists(png));
    EXPECT_GT(fs::file_size(png), 10u * 1024u);
    const std::string bytes = e2e::read_text(png);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    if (const char* keep = std::getenv("LABTOOL_REPORT_KEEP")) fs::copy_file(png, keep, fs::copy_options::overwrite_existing);
}
}  // namespace
}  // namespace labtool::cli
