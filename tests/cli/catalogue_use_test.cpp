// Words live in the catalogue, and the catalogue holds no dead words: every message key is
// used by some renderer, and no renderer writes an English sentence of its own (a literal of
// four or more words) that a Chinese run would print untranslated.
#include "messages.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <iterator>
#include <sstream>
#include <string>

namespace labtool::cli {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The code of cli/src (comments removed), except the catalogue itself.
std::string sources(const fs::path& dir, std::vector<std::string>* names = nullptr) {
    std::string all;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const auto name = entry.path().filename().string();
        if (name == "messages.cpp" || name == "messages.def") continue;
        if (entry.path().extension() != ".cpp" && entry.path().extension() != ".hpp") continue;
        if (names) names->push_back(name);
        std::string text = read(entry.path());
        text = std::regex_replace(text, std::regex(R"(//[^\n]*)"), "");
        all += text + "\n";
    }
    return all;
}

const fs::path source_dir = LABTOOL_CLI_SOURCE_DIR;

TEST(Catalogue, EveryMessageIsUsed) {
    if (!fs::exists(source_dir)) GTEST_SKIP() << source_dir << " is not reachable from this build (cross build under wine)";
    const std::string code = sources(source_dir);
    for (std::size_t i = 0; i < msg_count; ++i) {
        const std::string key(msg_name(static_cast<Msg>(i)));
        EXPECT_NE(code.find("Msg::" + key), std::string::npos) << "message " << key << " is never used: remove it";
    }
}

TEST(Catalogue, RenderersWriteNoSentencesOfTheirOwn) {
    if (!fs::exists(source_dir)) GTEST_SKIP() << source_dir << " is not reachable from this build (cross build under wine)";
    // Renderers that print teaching text; -v (packet_details) uses Wireshark's English field
    // names on purpose, and commands' error messages are not renderer output.
    for (const char* file : {"text_renderer.cpp", "ladder_renderer.cpp", "html_report.cpp", "explain.cpp"}) {
        std::string code = read(source_dir / file);
        code = std::regex_replace(code, std::regex(R"(//[^\n]*)"), "");
        // A string literal with four words in a row, two of them lower-case words (so a font name
        // such as "Noto Sans CJK SC" is not a sentence, "the client sends a FIN" is).
        static const std::regex literal(R"re("[^"\n]*")re");
        static const std::regex four_words(R"re(\b[A-Za-z]+ [A-Za-z]+ [A-Za-z]+ [A-Za-z]+\b)re");
        static const std::regex lower_word(R"re(\b[a-z]{2,}\b)re");
        for (std::sregex_iterator it(code.begin(), code.end(), literal), end; it != end; ++it) {
            const std::string text = it->str();
            std::smatch words;
            if (!std::regex_search(text, words, four_words)) continue;
            const std::string run = words.str();
            const auto lower = std::distance(std::sregex_iterator(run.begin(), run.end(), lower_word), std::sregex_iterator());
            if (lower >= 2) ADD_FAILURE() << file << " writes a sentence itself: " << text << " (put it in the catalogue)";
        }
    }
}

}  // namespace
}  // namespace labtool::cli
