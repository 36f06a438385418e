// The English and Simplified Chinese catalogues. Arguments are named ({isn}) so a translation
// may order them freely. Protocol words (SYN, ACK, FIN, seq, ack, TIME-WAIT …) stay as students
// see them in Wireshark.
#include "messages.hpp"

#include <cstdlib>
#include <map>

namespace labtool::cli {
namespace {

using Catalogue = std::map<Msg, std::string_view>;

const Catalogue& english() {
    static const Catalogue c{
        {Msg::conn_opened, "Connection #{stream}: {client} → {server}"},
        {Msg::conn_midstream, "  (picked up mid-stream: its handshake was not captured, numbers are relative to the first byte seen)"},
        {Msg::hs_title, "handshake {step}/3"},
        {Msg::hs_syn_seq, "seq {raw} (relative 0) ← the client's initial sequence number (ISN), chosen at random"},
        {Msg::hs_synack_seq, "seq {raw} (relative 0) ← the server's own ISN, also random"},
        {Msg::hs_ack_seq, "seq {raw} (relative {rel}) = client ISN + 1"},
        {Msg::hs_ack_rule, "ack {ack} (relative {rel}) = {peer} ISN {isn} + 1: a SYN consumes one sequence number"},
        {Msg::hs_ack_bad, "ack {ack} ≠ {peer} ISN {isn} + 1: not a valid handshake acknowledgment"},
        {Msg::hs_retransmitted, "(retransmitted: the first one got no answer in time)"},
        {Msg::opt_mss, "MSS {mss} (the largest segment this side will accept)"},
        {Msg::opt_no_mss, "no MSS option (536 assumed)"},
        {Msg::opt_ws, "window scale shift {shift} (its windows count ×{mult} after the handshake)"},
        {Msg::opt_no_ws, "no window scaling"},
        {Msg::opt_sack, "SACK permitted"},
        {Msg::opt_no_sack, "no SACK"},
        {Msg::opt_ts, "timestamps"},
        {Msg::opt_syn_window, "window {win} (a SYN's window is never scaled)"},
        {Msg::hs_window_scaled, "window {raw} × {mult} (scale from the client's SYN) = {bytes} bytes the client can receive"},
        {Msg::hs_window_unscaled, "window {raw} bytes (no window scaling)"},
        {Msg::hs_why_three, "three packets, because each side must send its own ISN and hear it acknowledged; the server's ACK and its SYN travel together in one packet"},
        {Msg::states_now, "now: client {client} · server {server}"},
        {Msg::side_client, "client"},
        {Msg::side_server, "server"},
        {Msg::arrow_c2s, "client → server"},
        {Msg::arrow_s2c, "server → client"},
        {Msg::req_title, "HTTP request →"},
        {Msg::req_size, "{header} header bytes{body} in {segments} segment(s)"},
        {Msg::req_next_seq, "next seq {next} = {seq} + {len} bytes of {method}: TCP numbers bytes, not packets"},
        {Msg::req_keepalive, "request #{n} on this connection: keep-alive reuses it, no new handshake"},
        {Msg::req_favicon, "the browser asks for /favicon.ico by itself, for the tab icon; a 404 here is harmless"},
        {Msg::req_headers_truncated, "only the request line was captured (snaplen); the headers are missing, not guessed"},
        {Msg::resp_title, "HTTP response ←"},
        {Msg::resp_answers, "answers {method} {uri} (frame {frame}), {ms} ms later"},
        {Msg::resp_no_request, "(its request was not captured)"},
        {Msg::resp_206, "206 Partial Content: the client asked for a byte range (Range) and got that part; Content-Range says which bytes of the whole file. Audio and video players ask bytes=0- so they can seek later"},
        {Msg::resp_304, "304 Not Modified: the browser's cached copy is still valid (its validator matched); no body is sent"},
        {Msg::resp_404, "404 Not Found: no such file; the error page is a normal response and the connection stays usable"},
        {Msg::resp_carried, "{total} bytes ({header} header + {body} body) carried in {segments} TCP segment(s):"},
        {Msg::resp_segment, "frame {frame}: seq {seq} + {len} bytes = next seq {next}"},
        {Msg::resp_more_segments, "… and {n} more segments"},
        {Msg::resp_split, "why split: TCP sends a byte stream in segments limited by the receiver's MSS and by the sender's socket buffers; each segment's seq + length = the next segment's seq"},
        {Msg::resp_ethernet, "on an Ethernet link (MSS 1460) these {total} bytes would take {n} segments; on loopback (MTU 65536) segments of up to 65483 bytes are normal"},
        {Msg::resp_psh, "PSH (push) on frame {frame}: \"deliver to the application now\", the sender had nothing more queued"},
        {Msg::resp_incomplete, "incomplete: the connection ended before the whole body arrived"},
        {Msg::resp_headers_truncated, "only the status line was captured (snaplen); the headers are missing, not guessed"},
        {Msg::hdr_host, "which site the client wants (required in HTTP/1.1)"},
        {Msg::hdr_connection_keep_alive, "keep the connection open for more requests"},
        {Msg::hdr_connection_close, "close the connection after this message"},
        {Msg::hdr_user_agent, "the client program"},
        {Msg::hdr_accept, "media types the client prefers"},
        {Msg::hdr_range, "only these bytes, please"},
        {Msg::hdr_if_none_match, "send it only if the ETag changed (else 304)"},
        {Msg::hdr_if_modified_since, "send it only if modified since (else 304)"},
        {Msg::hdr_content_type, "how to interpret the body"},
        {Msg::hdr_content_length, "body size in bytes: tells where this message ends"},
        {Msg::hdr_content_range, "which bytes of the whole these are"},
        {Msg::hdr_accept_ranges, "the server accepts Range requests"},
        {Msg::hdr_cache_control, "how long a cached copy may be used without asking again"},
        {Msg::hdr_last_modified, "validator: the file's modification time"},
        {Msg::hdr_etag, "validator: identifies this version of the file"},
        {Msg::hdr_keep_alive, "how long the server keeps an idle connection"},
        {Msg::hdr_transfer_encoding, "the body is sent in chunks of announced size"},
        {Msg::ack_title, "ACK ✓"},
        {Msg::ack_whole, "the client acknowledged the whole {status} response{to} (ack {ack}) in frame(s) {frames}"},
        {Msg::ack_segment, "{segment}   acked by frame {by}"},
        {Msg::ack_not_yet, "{segment}   not acknowledged separately"},
        {Msg::td_title, "teardown {step}"},
        {Msg::td_fin_and_ack, "FIN that also acknowledges the peer's FIN"},
        {Msg::td_fin_on_data, "FIN on the last data segment ({len} bytes)"},
        {Msg::td_fin, "FIN: this side has no more data to send"},
        {Msg::td_ack, "ACK of the peer's FIN"},
        {Msg::td_first, "the {side} closes first, so the {side} goes to FIN-WAIT-1 and the other side to CLOSE-WAIT"},
        {Msg::td_time_wait, "TIME-WAIT lasts 2×MSL (60 s on Linux), so a lost last ACK can be resent and old segments die out"},
        {Msg::td_three, "a 3-packet close: the second FIN rides on the ACK of the first, because the other side had nothing left to send (on loopback it answers at once)"},
        {Msg::td_four, "a 4-packet close: the other side acknowledged the FIN at once and sent its own FIN later (the textbook four steps)"},
        {Msg::td_closing, "simultaneous close: both FINs crossed, so both sides are in CLOSING until acknowledged"},
        {Msg::rst_title, "RESET"},
        {Msg::rst_abort, "the {side} aborts the connection (it was: {states})"},
        {Msg::rst_now, "now: client CLOSED · server CLOSED — no FIN exchange, no TIME-WAIT"},
        {Msg::rst_late, "another RST: the connection is already gone, so the {side}'s kernel answers each segment still arriving with a reset"},
        {Msg::gap_line, "{bytes} bytes from the {side} at seq {seq} were not captured"},
        {Msg::not_http, "the {side}'s bytes are not HTTP/1.x ({reason}); not parsed further"},
        {Msg::end_title, "end of connection {stream}:"},
        {Msg::end_fin, "closed with FIN; the {side} closed first"},
        {Msg::end_rst, "aborted by RST from the {side}"},
        {Msg::end_open, "still open when the capture ended"},
        {Msg::end_line, "{how}; {requests} request(s), {responses} response(s); client sent {cp} packets / {cb} bytes, server {sp} packets / {sb} bytes; {duration} s; final: client {cs} · server {ss}"},
        {Msg::end_preconnect, "the browser opened this connection in advance (preconnect) and never sent a request on it"},
        {Msg::end_stats, "Wireshark completeness {completeness}, Zeek conn_state {state}, history {history}{rtt}"},
        {Msg::end_flags, "analysis flags: {flags}"},
        {Msg::checksum_note, "note: TCP checksums of loopback packets look wrong in every capture (checksum offload: the kernel fills in only the pseudo-header sum); this is not an error"},
        {Msg::parallel_note, "a new connection while #{other} is still open: browsers open a few connections in parallel (and reuse each with keep-alive), not one per resource"},
        {Msg::pkt_in_flight, "in flight {bytes}"},
        {Msg::pkt_acks, "acks frame {frame}, RTT {ms} ms"},
        {Msg::pkt_flag, "{flag}: {rule}"},
        {Msg::comment_file, "capture file comment: {text}"},
        {Msg::comment_packet, "[frame {frame}] comment: {text}"},
        {Msg::brief_connection, "#{stream} {client} → {server}: {how}, {requests} request(s), {packets} packets, {duration} s"},
        {Msg::brief_exchange, "#{stream} {method} {uri} → {status} {reason}, {bytes} bytes in {segments} segment(s), {ms} ms"},
        {Msg::sum_title, "Summary"},
        {Msg::sum_totals, "connections {connections}   requests {requests}   responses {responses}   TCP payload {bytes} bytes   over {duration} s"},
        {Msg::sum_live, "packets captured {captured}   dropped by the kernel {dropped}"},
        {Msg::sum_dropped, "(some packets were lost: the analysis may have gaps; try --buffer or --batch-ms)"},
        {Msg::sum_replay, "frames read {frames}   TCP frames analysed {tcp}   other frames skipped {ignored}"},
        {Msg::sum_malformed, "frames with headers cut short by the snaplen {truncated}   malformed frames {invalid}"},
        {Msg::sum_recorded, "recorded {packets} packets to {path} (open it with Wireshark, or: labtool replay {path})"},
        {Msg::sum_warning, "warning: {text}"},
        {Msg::sum_conn_header, "stream  client                   requests  bytes c→s  bytes s→c  packets  duration  closed"},
        {Msg::sum_http_header, "stream  request                                   status  bytes      segments  time to response"},
        {Msg::close_by_fin, "FIN by {side}"},
        {Msg::close_by_rst, "RST by {side}"},
        {Msg::close_open, "open"},
    };
    return c;
}

const Catalogue& chinese() {
    static const Catalogue c{
        {Msg::conn_opened, "连接 #{stream}：{client} → {server}"},
        {Msg::conn_midstream, "  （从中途开始捕获：没有看到三次握手，序号相对于看到的第一个字节）"},
        {Msg::hs_title, "三次握手 {step}/3"},
        {Msg::hs_syn_seq, "seq {raw}（相对 0）← 客户端的初始序号 ISN，随机选取"},
        {Msg::hs_synack_seq, "seq {raw}（相对 0）← 服务器自己的 ISN，同样随机"},
        {Msg::hs_ack_seq, "seq {raw}（相对 {rel}）= 客户端 ISN + 1"},
        {Msg::hs_ack_rule, "ack {ack}（相对 {rel}）= {peer} ISN {isn} + 1：SYN 占用一个序号"},
        {Msg::hs_ack_bad, "ack {ack} ≠ {peer} ISN {isn} + 1：不是有效的握手确认"},
        {Msg::hs_retransmitted, "（重传：第一次没有及时得到回应）"},
        {Msg::opt_mss, "MSS {mss}（这一方愿意接收的最大报文段）"},
        {Msg::opt_no_mss, "没有 MSS 选项（按 536 处理）"},
        {Msg::opt_ws, "窗口扩大因子 shift {shift}（握手之后它的窗口值 ×{mult}）"},
        {Msg::opt_no_ws, "不使用窗口扩大"},
        {Msg::opt_sack, "允许 SACK"},
        {Msg::opt_no_sack, "不使用 SACK"},
        {Msg::opt_ts, "时间戳"},
        {Msg::opt_syn_window, "窗口 {win}（SYN 中的窗口从不扩大）"},
        {Msg::hs_window_scaled, "窗口 {raw} × {mult}（扩大因子来自客户端的 SYN）= 客户端可接收 {bytes} 字节"},
        {Msg::hs_window_unscaled, "窗口 {raw} 字节（不使用窗口扩大）"},
        {Msg::hs_why_three, "为什么是三个包：双方都要发出自己的 ISN 并得到对方确认；服务器的 ACK 和它自己的 SYN 合在同一个包里"},
        {Msg::states_now, "现在：客户端 {client} · 服务器 {server}"},
        {Msg::side_client, "客户端"},
        {Msg::side_server, "服务器"},
        {Msg::arrow_c2s, "客户端 → 服务器"},
        {Msg::arrow_s2c, "服务器 → 客户端"},
        {Msg::req_title, "HTTP 请求 →"},
        {Msg::req_size, "首部 {header} 字节{body}，由 {segments} 个报文段携带"},
        {Msg::req_next_seq, "下一个 seq {next} = {seq} + {method} 的 {len} 字节：TCP 按字节编号，而不是按包"},
        {Msg::req_keepalive, "这是该连接上的第 {n} 个请求：keep-alive 复用连接，不需要新的握手"},
        {Msg::req_favicon, "浏览器会自动请求 /favicon.ico 作为标签页图标；这里返回 404 也没有关系"},
        {Msg::req_headers_truncated, "只捕获到了请求行（snaplen 截断），首部缺失，不做猜测"},
        {Msg::resp_title, "HTTP 响应 ←"},
        {Msg::resp_answers, "回应 {method} {uri}（帧 {frame}），间隔 {ms} ms"},
        {Msg::resp_no_request, "（没有捕获到它对应的请求）"},
        {Msg::resp_206, "206 Partial Content：客户端用 Range 请求了一段字节，服务器只发送这一部分；Content-Range 说明是整个文件中的哪些字节。音频和视频播放器会请求 bytes=0-，以便之后拖动进度"},
        {Msg::resp_304, "304 Not Modified：浏览器缓存的副本仍然有效（校验值匹配），不发送响应体"},
        {Msg::resp_404, "404 Not Found：文件不存在；错误页面也是一个普通的响应，连接仍然可以继续使用"},
        {Msg::resp_carried, "共 {total} 字节（首部 {header} + 响应体 {body}），由 {segments} 个 TCP 报文段携带："},
        {Msg::resp_segment, "帧 {frame}：seq {seq} + {len} 字节 = 下一个 seq {next}"},
        {Msg::resp_more_segments, "…… 还有 {n} 个报文段"},
        {Msg::resp_split, "为什么要分段：TCP 把字节流分成报文段发送，大小受接收方的 MSS 和发送方套接字缓冲区限制；每段的 seq + 长度 = 下一段的 seq"},
        {Msg::resp_ethernet, "如果在以太网上（MSS 1460），这 {total} 字节需要 {n} 个报文段；回环接口的 MTU 是 65536，所以这里出现最大 65483 字节的报文段是正常的"},
        {Msg::resp_psh, "帧 {frame} 带 PSH（推送）：\"立即交给应用程序\"，发送方已经没有更多数据排队"},
        {Msg::resp_incomplete, "不完整：响应体还没有全部到达，连接就结束了"},
        {Msg::resp_headers_truncated, "只捕获到了状态行（snaplen 截断），首部缺失，不做猜测"},
        {Msg::hdr_host, "客户端要访问的站点（HTTP/1.1 必需）"},
        {Msg::hdr_connection_keep_alive, "保持连接，继续发送更多请求"},
        {Msg::hdr_connection_close, "这个消息之后关闭连接"},
        {Msg::hdr_user_agent, "客户端程序"},
        {Msg::hdr_accept, "客户端偏好的媒体类型"},
        {Msg::hdr_range, "只要这些字节"},
        {Msg::hdr_if_none_match, "只有 ETag 变了才发送（否则 304）"},
        {Msg::hdr_if_modified_since, "只有在此时间后修改过才发送（否则 304）"},
        {Msg::hdr_content_type, "如何解释响应体"},
        {Msg::hdr_content_length, "响应体字节数：说明这个消息在哪里结束"},
        {Msg::hdr_content_range, "这些是整个文件中的哪些字节"},
        {Msg::hdr_accept_ranges, "服务器接受 Range 请求"},
        {Msg::hdr_cache_control, "缓存副本可以不经询问使用多久"},
        {Msg::hdr_last_modified, "校验值：文件的修改时间"},
        {Msg::hdr_etag, "校验值：标识文件的这个版本"},
        {Msg::hdr_keep_alive, "服务器保持空闲连接的时间"},
        {Msg::hdr_transfer_encoding, "响应体分块发送，每块先声明大小"},
        {Msg::ack_title, "ACK ✓"},
        {Msg::ack_whole, "客户端在帧 {frames} 确认了整个 {status} 响应{to}（ack {ack}）"},
        {Msg::ack_segment, "{segment}   由帧 {by} 确认"},
        {Msg::ack_not_yet, "{segment}   没有单独确认"},
        {Msg::td_title, "四次挥手 {step}"},
        {Msg::td_fin_and_ack, "FIN，同时确认了对方的 FIN"},
        {Msg::td_fin_on_data, "FIN 随最后一个数据报文段一起发送（{len} 字节）"},
        {Msg::td_fin, "FIN：这一方没有数据要发送了"},
        {Msg::td_ack, "对对方 FIN 的 ACK"},
        {Msg::td_first, "{side}先关闭，所以{side}进入 FIN-WAIT-1，另一方进入 CLOSE-WAIT"},
        {Msg::td_time_wait, "TIME-WAIT 持续 2×MSL（Linux 上为 60 秒），这样最后的 ACK 丢失时还能重发，旧报文也会消失"},
        {Msg::td_three, "三个包完成关闭：第二个 FIN 搭在对第一个 FIN 的 ACK 上，因为另一方已经没有数据要发（在回环接口上它会立即回应）"},
        {Msg::td_four, "四个包完成关闭：另一方先立即确认 FIN，稍后再发送自己的 FIN（教科书上的四次挥手）"},
        {Msg::td_closing, "同时关闭：双方的 FIN 交叉而过，双方都处于 CLOSING，直到得到确认"},
        {Msg::rst_title, "复位 RST"},
        {Msg::rst_abort, "{side}中止了连接（之前：{states}）"},
        {Msg::rst_now, "现在：客户端 CLOSED · 服务器 CLOSED —— 没有 FIN 交换，也没有 TIME-WAIT"},
        {Msg::rst_late, "又一个 RST：连接已经不存在了，{side}的内核对每个仍在到达的报文段都回复复位"},
        {Msg::gap_line, "{side}在 seq {seq} 处有 {bytes} 字节没有被捕获"},
        {Msg::not_http, "{side}的数据不是 HTTP/1.x（{reason}），不再解析"},
        {Msg::end_title, "连接 {stream} 结束："},
        {Msg::end_fin, "用 FIN 关闭；{side}先关闭"},
        {Msg::end_rst, "被{side}的 RST 中止"},
        {Msg::end_open, "捕获结束时仍然打开"},
        {Msg::end_line, "{how}；{requests} 个请求，{responses} 个响应；客户端发送 {cp} 个包 / {cb} 字节，服务器 {sp} 个包 / {sb} 字节；{duration} 秒；最终：客户端 {cs} · 服务器 {ss}"},
        {Msg::end_preconnect, "浏览器提前打开了这个连接（预连接），但没有在上面发送请求"},
        {Msg::end_stats, "Wireshark 完整性 {completeness}，Zeek conn_state {state}，history {history}{rtt}"},
        {Msg::end_flags, "分析标记：{flags}"},
        {Msg::checksum_note, "注意：回环接口捕获中 TCP 校验和看起来总是错的（校验和卸载：内核只填入了伪首部的和），这不是错误"},
        {Msg::parallel_note, "在 #{other} 仍然打开时又建立了新连接：浏览器会并行打开几个连接（每个连接都用 keep-alive 复用），而不是每个资源一个连接"},
        {Msg::pkt_in_flight, "在途 {bytes}"},
        {Msg::pkt_acks, "确认帧 {frame}，RTT {ms} ms"},
        {Msg::pkt_flag, "{flag}：{rule}"},
        {Msg::comment_file, "捕获文件注释：{text}"},
        {Msg::comment_packet, "[帧 {frame}] 注释：{text}"},
        {Msg::brief_connection, "#{stream} {client} → {server}：{how}，{requests} 个请求，{packets} 个包，{duration} 秒"},
        {Msg::brief_exchange, "#{stream} {method} {uri} → {status} {reason}，{bytes} 字节，{segments} 个报文段，{ms} ms"},
        {Msg::sum_title, "汇总"},
        {Msg::sum_totals, "连接 {connections}   请求 {requests}   响应 {responses}   TCP 载荷 {bytes} 字节   历时 {duration} 秒"},
        {Msg::sum_live, "捕获的包 {captured}   内核丢弃 {dropped}"},
        {Msg::sum_dropped, "（有包丢失：分析可能出现空缺；可以试试 --buffer 或 --batch-ms）"},
        {Msg::sum_replay, "读取帧 {frames}   分析的 TCP 帧 {tcp}   跳过的其他帧 {ignored}"},
        {Msg::sum_malformed, "首部被 snaplen 截断的帧 {truncated}   格式错误的帧 {invalid}"},
        {Msg::sum_recorded, "已把 {packets} 个包保存到 {path}（可用 Wireshark 打开，或：labtool replay {path}）"},
        {Msg::sum_warning, "警告：{text}"},
        {Msg::sum_conn_header, "流      客户端                    请求数    c→s 字节   s→c 字节   包数     时长      关闭方式"},
        {Msg::sum_http_header, "流      请求                                      状态    字节       报文段    响应用时"},
        {Msg::close_by_fin, "{side} FIN"},
        {Msg::close_by_rst, "{side} RST"},
        {Msg::close_open, "未关闭"},
    };
    return c;
}

constexpr std::string_view names[] = {
#define LABTOOL_MSG(name) #name,
#include "messages.def"
#undef LABTOOL_MSG
};

}  // namespace

std::string_view text(Lang lang, Msg m) {
    const Catalogue& c = lang == Lang::zh ? chinese() : english();
    const auto it = c.find(m);
    return it == c.end() ? std::string_view() : it->second;
}

std::string_view msg_name(Msg m) {
    const auto i = static_cast<std::size_t>(m);
    return i < msg_count ? names[i] : std::string_view("?");
}

bool parse_lang(std::string_view t, Lang& out) {
    if (t == "en") { out = Lang::en; return true; }
    if (t == "zh") { out = Lang::zh; return true; }
    return false;
}

Lang lang_from_environment() {
    for (const char* var : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
        const char* v = std::getenv(var);
        if (v == nullptr || *v == '\0') continue;
        return std::string_view(v).substr(0, 2) == "zh" ? Lang::zh : Lang::en;
    }
    return Lang::en;
}

}  // namespace labtool::cli
