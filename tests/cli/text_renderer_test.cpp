// The text renderer on a page load built in the test: the explanations carry the arithmetic, in
// both languages and both levels of detail, and no message fails to format.
#include "packet_builder.hpp"
#include "render_frames.hpp"
#include "renderer.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace labtool::cli {
namespace {

namespace a = labtool::analysis;
namespace f = a::tcp_flag;

std::string render(Lang lang, bool brief, bool ladder = false) {
    test::ConversationBuilder conv;
    auto send = [&](bool client, std::uint8_t flags, const std::string& payload) { conv.send(client, flags, payload); };
    const auto& frames = conv.frames;
    send(true, f::syn, "");
    send(false, f::syn | f::ack, "");
    send(true, f::ack, "");
    const std::string get = "GET /audio.mp3 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nRange: bytes=0-\r\n\r\n";
    send(true, f::psh | f::ack, get);
    send(false, f::ack, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-2999/3000\r\nContent-Length: 3000\r\n\r\n" +
                            std::string(1000, 'x'));
    send(false, f::psh | f::ack, std::string(2000, 'y'));
    send(true, f::ack, "");
    send(true, f::fin | f::ack, "");
    send(false, f::fin | f::ack, "");
    send(true, f::ack, "");
    std::ostringstream out;
    TextOptions o;
    o.lang = lang;
    o.brief = brief;
    o.server_name = "labtool";
    auto r = ladder ? make_ladder_renderer(out, o, true) : make_text_renderer(out, o);
    test::render_frames(*r, frames, ladder);
    return out.str();
}

/// The text with wrapped lines joined again (default output is wrapped at 100 columns).
std::string unwrapped(const std::string& t) {
    std::string out;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t.compare(i, 9, "\n        ") == 0) {
            out += ' ';
            i += 8;
            continue;
        }
        out += t[i];
    }
    return out;
}

TEST(TextRenderer, EnglishExplainsTheArithmetic) {
    const std::string wrapped = render(Lang::en, false);
    const std::string t = unwrapped(wrapped);
    EXPECT_EQ(t.find("[format error"), std::string::npos) << t;
    EXPECT_NE(t.find("ack 1055145364 (relative 1) = client ISN 1055145363 + 1: a SYN consumes one sequence number"), std::string::npos) << t;
    EXPECT_NE(t.find("window 65535 × 256 (scale from the client's SYN) = 16776960 bytes"), std::string::npos) << t;
    EXPECT_NE(t.find("next seq 67 = 1 + 66 bytes of GET"), std::string::npos) << t;
    EXPECT_NE(t.find("206 Partial Content"), std::string::npos);
    EXPECT_NE(t.find("frame 6: seq 1089 + 2000 bytes = next seq 3089"), std::string::npos) << t;
    EXPECT_NE(t.find("would take 3 segments"), std::string::npos) << t;
    EXPECT_NE(t.find("PSH on 1 of 2 segment(s) (last: frame 6)"), std::string::npos) << t;
    EXPECT_NE(t.find("the client closes first: it enters FIN-WAIT-1; the server enters CLOSE-WAIT"), std::string::npos) << t;
    EXPECT_NE(t.find("a 3-packet close: the server had nothing more to send"), std::string::npos) << t;
    EXPECT_NE(t.find("the client enters TIME-WAIT: it keeps the connection's record for 2×MSL"), std::string::npos) << t;
    EXPECT_NE(t.find("here bytes 0–2999 of 3000: the whole file"), std::string::npos) << t;
    // Default output fits 100 columns.
    std::istringstream lines(wrapped);
    for (std::string l; std::getline(lines, l);) {
        std::size_t columns = 0;
        for (unsigned char ch : l) columns += (ch & 0xC0) != 0x80;
        EXPECT_LE(columns, 100u) << l;
    }
}

TEST(TextRenderer, ChineseHasNoEnglishSentencesAndFormatsEverything) {
    const std::string t = unwrapped(render(Lang::zh, false));
    EXPECT_EQ(t.find("[format error"), std::string::npos) << t;
    EXPECT_NE(t.find("SYN 占用一个序号"), std::string::npos) << t;
    EXPECT_NE(t.find("客户端先关闭：客户端进入 FIN-WAIT-1"), std::string::npos) << t;
    EXPECT_NE(t.find("[#0 帧 "), std::string::npos) << t;
    EXPECT_EQ(t.find("; "), std::string::npos) << "half-width separators in Chinese text:\n" << t;
    EXPECT_EQ(t.find("consumes one sequence number"), std::string::npos);
    EXPECT_EQ(t.find("closes first"), std::string::npos);
}

TEST(TextRenderer, BriefIsOneLinePerExchangeAndConnection) {
    for (Lang l : {Lang::en, Lang::zh}) {
        const std::string t = render(l, true);
        EXPECT_EQ(t.find("[format error"), std::string::npos) << t;
        const std::string head = t.substr(0, t.find("\n\n"));
        EXPECT_EQ(std::count(head.begin(), head.end(), '\n'), 1) << head;   // exchange line, then the connection line
        EXPECT_NE(t.find("#0 GET /audio.mp3 → 206"), std::string::npos) << t;
    }
}

TEST(TextRenderer, ExplainsASecondConnectionUsedWhileTheFirstIsBusy) {
    test::ConversationBuilder a(100, 200, 52126), b(5000, 6000, 52128);
    a.send(true, f::syn);
    a.send(false, f::syn | f::ack);
    a.send(true, f::ack);
    a.send(true, f::psh | f::ack, "GET /audio.mp3 HTTP/1.1\r\nHost: x\r\n\r\n");   // not answered yet
    b.send(true, f::syn);
    b.send(false, f::syn | f::ack);
    b.send(true, f::ack);
    b.send(true, f::psh | f::ack, "GET /logo.jpg HTTP/1.1\r\nHost: x\r\n\r\n");
    std::vector<std::vector<std::uint8_t>> frames = a.frames;
    frames.insert(frames.end(), b.frames.begin(), b.frames.end());
    for (Lang lang : {Lang::en, Lang::zh}) {
        std::ostringstream out;
        TextOptions o;
        o.lang = lang;
        auto r = make_text_renderer(out, o);
        a::Engine engine;
        auto sink = [&](const a::Event& e) { r->on_event(e); };
        for (std::size_t i = 0; i < frames.size(); ++i)
            engine.process(a::Frame{a::LinkType::ethernet, {1, static_cast<std::uint32_t>(i)}, 0, frames[i]}, sink);
        const std::string t = out.str();
        EXPECT_NE(t.find(lang == Lang::en ? "because #0 was still busy with /audio.mp3" : "因为 #0 还在处理 /audio.mp3"),
                  std::string::npos)
            << t;
    }
}

TEST(LadderRenderer, TwoLanesOneArrowPerPacketAndTheStates) {
    const std::string t = render(Lang::en, false, true);
    EXPECT_NE(t.find("client :52126"), std::string::npos) << t;
    EXPECT_NE(t.find("labtool :3000"), std::string::npos) << t;
    std::size_t arrows = 0;
    for (std::size_t at = t.find("▶│"); at != std::string::npos; at = t.find("▶│", at + 1)) ++arrows;
    for (std::size_t at = t.find("│◀"); at != std::string::npos; at = t.find("│◀", at + 1)) ++arrows;
    EXPECT_EQ(arrows, 10u) << t;   // every packet of the conversation
    for (const char* s : {"SYN-SENT", "SYN-RECEIVED", "FIN-WAIT-1", "CLOSE-WAIT", "TIME-WAIT", "LAST-ACK", "CLOSED",
                          "GET /audio.mp3", "206 Partial Content"})
        EXPECT_NE(t.find(s), std::string::npos) << s << "\n" << t;
    EXPECT_NE(render(Lang::zh, false, true).find("客户端 :52126"), std::string::npos);
}

TEST(LadderRenderer, LiveRowsNeverMixConnections) {
    // Two connections whose packets interleave: live (not grouped), every row must sit under
    // the lanes of its own connection.
    test::ConversationBuilder a(100, 200, 52126), b(5000, 6000, 52128);
    a.send(true, f::syn);
    b.send(true, f::syn);
    a.send(false, f::syn | f::ack);
    b.send(false, f::syn | f::ack);
    a.send(true, f::ack);
    b.send(true, f::ack);
    std::vector<std::vector<std::uint8_t>> frames;
    for (std::size_t i = 0; i < 3; ++i) {
        frames.push_back(a.frames[i]);
        frames.push_back(b.frames[i]);
    }
    std::ostringstream out;
    TextOptions o;
    auto r = make_ladder_renderer(out, o, false);
    test::render_frames(*r, frames, true);
    r->flush();
    // Walk the output: a header names the connection; each row's client port must match it.
    std::istringstream lines(out.str());
    std::string current;
    int rows = 0;
    for (std::string l; std::getline(lines, l);) {
        if (l.rfind("#", 0) == 0) {
            current = l.find(":52126") != std::string::npos ? "a" : "b";
            continue;
        }
        if (l.find("│") == std::string::npos) continue;
        ++rows;
        const std::size_t frame = std::stoul(l.substr(0, 6));
        EXPECT_EQ(current, frame % 2 == 1 ? "a" : "b") << "frame " << frame << " under the wrong lanes:\n" << out.str();
    }
    EXPECT_EQ(rows, 6) << out.str();
}

}  // namespace
}  // namespace labtool::cli

namespace labtool::cli {
namespace {

/// One request for /favicon.ico answered with `status`, in English.
std::string favicon_run(const std::string& status) {
    test::ConversationBuilder conv;
    conv.send(true, f::syn);
    conv.send(false, f::syn | f::ack);
    conv.send(true, f::ack);
    conv.send(true, f::psh | f::ack, "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n");
    conv.send(false, f::psh | f::ack, "HTTP/1.1 " + status + "\r\nContent-Length: 2\r\n\r\nok");
    std::ostringstream out;
    TextOptions o;
    auto r = make_text_renderer(out, o);
    test::render_frames(*r, conv.frames, false);
    return unwrapped(out.str());
}

TEST(TextRenderer, FaviconIsCalledHarmlessOnlyWhenItWasA404) {
    const std::string ok = favicon_run("200 OK");
    EXPECT_NE(ok.find("asks for /favicon.ico by itself"), std::string::npos) << ok;
    EXPECT_EQ(ok.find("harmless"), std::string::npos) << ok;
    const std::string missing = favicon_run("404 Not Found");
    EXPECT_NE(missing.find("this 404 is harmless"), std::string::npos) << missing;
}

}  // namespace
}  // namespace labtool::cli

namespace labtool::cli {
namespace {

TEST(LadderRenderer, AfterAReplayAtMost200ConnectionsAreDrawnAndTheRestCounted) {
    // 250 connections (a SYN each): the grouped ladder keeps 200 (memory stays bounded for
    // 100 000) and says how many it left out.
    std::ostringstream out;
    TextOptions o;
    auto r = make_ladder_renderer(out, o, true);
    a::EngineOptions eo;
    eo.emit_packets = true;
    a::Engine engine(eo);
    auto sink = [&](const a::Event& e) { r->on_event(e); };
    for (std::uint16_t i = 0; i < 250; ++i) {
        test::ConversationBuilder c(1000u + i, 5000u, static_cast<std::uint16_t>(20000 + i));
        c.send(true, f::syn);
        engine.process(a::Frame{a::LinkType::ethernet, {1, i}, 0, c.frames[0]}, sink);
    }
    engine.finish(sink);
    r->on_summary(RunSummary{});
    const std::string t = out.str();
    std::size_t headers = 0;
    for (std::size_t at = t.find("\n#"); at != std::string::npos; at = t.find("\n#", at + 1)) ++headers;
    EXPECT_EQ(headers, 200u);
    EXPECT_NE(t.find("50 more connections"), std::string::npos) << t.substr(t.size() > 400 ? t.size() - 400 : 0);
}

}  // namespace
}  // namespace labtool::cli
