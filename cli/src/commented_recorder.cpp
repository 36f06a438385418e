// pcapng recording with explanations (see commented_recorder.hpp).
#include "commented_recorder.hpp"

namespace labtool::cli {

namespace {
std::string section_comment(Lang lang) {
    return lang == Lang::zh ? "labtool 录制：每个包的注释是 labtool 对它的解释"
                            : "Recorded by labtool: each packet's comment is labtool's explanation of it";
}
}  // namespace

CommentedRecorder::CommentedRecorder(const std::string& path, int link_type, int snaplen,
                                     const std::string& interface, Lang lang)
    : writer_(path, link_type, snaplen, interface, section_comment(lang), std::string("labtool ") + LABTOOL_VERSION) {
    TextOptions o;
    o.lang = lang;
    o.color = false;
    renderer_ = make_text_renderer(text_, o);
}

void CommentedRecorder::write(const capture::Packet& packet) {
    renderer_->flush();
    std::string comment = text_.str();
    // Blank lines separate connections on a terminal; in a comment they are noise.
    while (!comment.empty() && (comment.front() == '\n')) comment.erase(comment.begin());
    while (!comment.empty() && (comment.back() == '\n')) comment.pop_back();
    writer_.write(packet, comment);
    text_.str({});
    text_.clear();
}

bool CommentedRecorder::is_own_section_comment(const std::string& comment) {
    return comment == section_comment(Lang::en) || comment == section_comment(Lang::zh);
}

bool CommentedRecorder::wants_pcapng(const std::string& path) {
    auto ends_with = [&](std::string_view s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
    return ends_with(".pcapng") || ends_with(".ntar");
}

}  // namespace labtool::cli
