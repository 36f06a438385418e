#include "html_report.hpp"
namespace labtool::cli {
namespace {
class HtmlReport final : public Renderer {
public:
    HtmlReport(std::ostream& out, Lang, std::string) : out_(out) {}
    void on_event(const analysis::Event&) override {}
    void on_summary(const RunSummary&) override {}
    void on_comment(std::uint64_t, const std::string&) override {}
    void flush() override { out_.flush(); }
private:
    std::ostream& out_;
};
}  // namespace
std::unique_ptr<Renderer> make_html_report(std::ostream& out, Lang lang, std::string title) {
    return std::make_unique<HtmlReport>(out, lang, std::move(title));
}
}  // namespace labtool::cli
