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

TEST(TextRenderer, EnglishExplainsTheArithmetic) {
    const std::string t = render(Lang::en, false);
    EXPECT_EQ(t.find("[format error"), std::string::npos) << t;
    EXPECT_NE(t.find("ack 1055145364 (relative 1) = client ISN 1055145363 + 1: a SYN consumes one sequence number"), std::string::npos) << t;
    EXPECT_NE(t.find("window 65535 × 256 (scale from the client's SYN) = 16776960 bytes"), std::string::npos) << t;
    EXPECT_NE(t.find("next seq 67 = 1 + 66 bytes of GET"), std::string::npos) << t;
    EXPECT_NE(t.find("206 Partial Content"), std::string::npos);
    EXPECT_NE(t.find("frame 6: seq 1089 + 2000 bytes = next seq 3089"), std::string::npos) << t;
    EXPECT_NE(t.find("would take 3 segments"), std::string::npos) << t;
    EXPECT_NE(t.find("PSH (push) on frame 6"), std::string::npos) << t;
    EXPECT_NE(t.find("the client closes first, so the client goes to FIN-WAIT-1"), std::string::npos) << t;
    EXPECT_NE(t.find("a 3-packet close"), std::string::npos) << t;
    EXPECT_NE(t.find("TIME-WAIT lasts 2×MSL"), std::string::npos) << t;
}

TEST(TextRenderer, ChineseHasNoEnglishSentencesAndFormatsEverything) {
    const std::string t = render(Lang::zh, false);
    EXPECT_EQ(t.find("[format error"), std::string::npos) << t;
    EXPECT_NE(t.find("SYN 占用一个序号"), std::string::npos) << t;
    EXPECT_NE(t.find("客户端先关闭，所以客户端进入 FIN-WAIT-1"), std::string::npos) << t;
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
    EXPECT_NE(t.find("browser :52126"), std::string::npos) << t;
    EXPECT_NE(t.find("labtool :3000"), std::string::npos) << t;
    std::size_t arrows = 0;
    for (std::size_t at = t.find("▶│"); at != std::string::npos; at = t.find("▶│", at + 1)) ++arrows;
    for (std::size_t at = t.find("│◀"); at != std::string::npos; at = t.find("│◀", at + 1)) ++arrows;
    EXPECT_EQ(arrows, 10u) << t;   // every packet of the conversation
    for (const char* s : {"SYN-SENT", "SYN-RECEIVED", "FIN-WAIT-1", "CLOSE-WAIT", "TIME-WAIT", "LAST-ACK", "CLOSED",
                          "GET /audio.mp3", "206 Partial Content"})
        EXPECT_NE(t.find(s), std::string::npos) << s << "\n" << t;
    EXPECT_NE(render(Lang::zh, false, true).find("浏览器 :52126"), std::string::npos);
}

}  // namespace
}  // namespace labtool::cli
