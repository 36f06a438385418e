// pcapng recording with explanations (see commented_recorder.hpp).
#include "commented_recorder.hpp"

#include <utility>

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

void CommentedRecorder::explained(std::uint64_t number) {
    renderer_->flush();
    std::string comment = text_.str();
    text_.str({});
    text_.clear();
    // Blank lines separate connections on a terminal; in a comment they are noise.
    while (!comment.empty() && (comment.front() == '\n')) comment.erase(comment.begin());
    while (!comment.empty() && (comment.back() == '\n')) comment.pop_back();
    std::lock_guard lock(mutex_);
    if (held_.empty() || number < held_.front().number) return;  // written already
    const auto at = static_cast<std::size_t>(number - held_.front().number);
    if (at >= held_.size()) return;
    Held& h = held_[at];
    h.comment = std::move(comment);
    h.explained = true;
    h.ready = true;
}

void CommentedRecorder::hold(const capture::Packet& packet, std::uint64_t number) {
    Held h;
    h.number = number;
    h.ts = packet.ts;
    h.len = packet.len;
    h.data.assign(packet.data.begin(), packet.data.end());
    h.since = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    held_bytes_ += h.data.size();
    held_.push_back(std::move(h));
}

void CommentedRecorder::will_not_be_explained(std::uint64_t number) {
    std::lock_guard lock(mutex_);
    if (held_.empty() || number < held_.front().number) return;
    const auto at = static_cast<std::size_t>(number - held_.front().number);
    if (at < held_.size()) held_[at].ready = true;
}

void CommentedRecorder::pump(bool all) {
    const auto now = std::chrono::steady_clock::now();
    for (;;) {
        Held h;
        {
            std::lock_guard lock(mutex_);
            if (held_.empty()) return;
            const Held& front = held_.front();
            if (!all && !front.ready && now - front.since < hold_time && held_bytes_ <= hold_bytes) return;
            h = std::move(held_.front());
            held_.pop_front();
            held_bytes_ -= h.data.size();
        }
        // Written outside the lock: the analysis thread never waits for the disk.
        try {
            writer_.write(capture::Packet{h.ts, static_cast<std::uint32_t>(h.data.size()), h.len, h.data}, h.comment);
            if (!h.explained) ++uncommented_;
        } catch (...) {
            std::lock_guard lock(mutex_);
            stopped_ = true;
            held_.clear();
            held_bytes_ = 0;
            throw;
        }
    }
}

bool CommentedRecorder::holding() const {
    std::lock_guard lock(mutex_);
    return !held_.empty();
}

bool CommentedRecorder::is_own_section_comment(const std::string& comment) {
    return comment == section_comment(Lang::en) || comment == section_comment(Lang::zh);
}

bool CommentedRecorder::wants_pcapng(const std::string& path) {
    auto ends_with = [&](std::string_view s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
    return ends_with(".pcapng") || ends_with(".ntar");
}

}  // namespace labtool::cli
