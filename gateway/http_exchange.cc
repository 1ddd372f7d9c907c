// The answering of one connection's requests in the gateway's HTTP/1.1 front (http_front.h):
// the requests read are parsed and handed to the handler one at a time (refused input answered
// and the connection closed), and HttpExchange writes a reply or a chunked stream back from any
// thread, holding a streaming writer while the caller reads too slowly.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "gateway/http_connection.h"
#include "gateway/http_front.h"

namespace dorset::gateway {
namespace {

std::string Head(const HttpReply& reply, bool keep_alive, bool chunked, size_t length) {
  std::string head = absl::StrCat("HTTP/1.1 ", reply.status, " ", HttpReason(reply.status), "\r\n");
  if (!reply.content_type.empty())
    absl::StrAppend(&head, "Content-Type: ", reply.content_type, "\r\n");
  for (const auto& [name, value] : reply.headers) absl::StrAppend(&head, name, ": ", value, "\r\n");
  if (chunked) {
    absl::StrAppend(&head, "Transfer-Encoding: chunked\r\n");
  } else {
    absl::StrAppend(&head, "Content-Length: ", length, "\r\n");
  }
  absl::StrAppend(&head,
                  keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
  return head;
}

}  // namespace

void Process(const std::shared_ptr<HttpConnection>& c) {
  std::unique_lock<std::mutex> lock(c->mu);
  if (c->processing) return;  // that thread's loop sees this one's change
  c->processing = true;
  const HttpFront::Loop& loop = *c->loop;
  while (!c->closed && !c->busy && !c->refused && !c->in.empty() && !loop.stopping) {
    HttpRequest request;
    const HttpParse parse = ParseHttpRequest(c->in, loop.limits, request);
    if (parse.state == HttpParse::kIncomplete) {
      if (request.expect_continue && !c->continue_sent) {
        c->continue_sent = true;
        c->Queue("HTTP/1.1 100 Continue\r\n\r\n");
      }
      break;
    }
    if (parse.state == HttpParse::kError) {
      const HttpReply reply = loop.refusal(parse.http_status, parse.error);
      c->refused = true;
      c->in.clear();
      c->close_after = true;
      c->Queue(absl::StrCat(Head(reply, false, false, reply.body.size()), reply.body));
      c->MaybeShutdown();
      break;
    }
    c->in.erase(0, parse.consumed);
    c->continue_sent = false;
    c->busy = true;
    const bool keep_alive = request.keep_alive;
    if (!keep_alive) c->refused = true;  // the caller sends nothing after this one
    auto exchange = std::make_shared<HttpExchange>(c, keep_alive, request.method == "HEAD");
    lock.unlock();
    loop.handler(std::move(request), std::move(exchange));
    lock.lock();
  }
  c->processing = false;
}

void HttpExchange::Reply(HttpReply reply) {
  HttpConnection& c = *connection_;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    std::string bytes = Head(reply, keep_alive_, false, reply.body.size());
    if (!head_) bytes.append(reply.body);
    c.Queue(bytes);
    if (!keep_alive_) {
      c.close_after = true;
      c.MaybeShutdown();
    }
    c.busy = false;
    c.last_active = std::chrono::steady_clock::now();
  }
  Process(connection_);
}

void HttpExchange::StartStream(HttpReply head) {
  std::lock_guard<std::mutex> lock(connection_->mu);
  connection_->Queue(Head(head, keep_alive_, true, 0));
}

bool HttpExchange::WriteChunk(std::string_view data) {
  if (data.empty()) return Writable();
  HttpConnection& c = *connection_;
  std::unique_lock<std::mutex> lock(c.mu);
  if (!c.drained.wait_for(lock, kWriteTimeout,
                          [&] { return c.closed || c.out.size() <= kMaxUnsent; })) {
    c.MarkClosed();
  }
  if (c.closed) return false;
  if (!head_) c.Queue(absl::StrCat(absl::Hex(data.size()), "\r\n", std::string(data), "\r\n"));
  c.last_active = std::chrono::steady_clock::now();
  return !c.closed;
}

void HttpExchange::EndStream() {
  HttpConnection& c = *connection_;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (!head_) c.Queue("0\r\n\r\n");
    if (!keep_alive_) {
      c.close_after = true;
      c.MaybeShutdown();
    }
    c.busy = false;
    c.last_active = std::chrono::steady_clock::now();
  }
  Process(connection_);
}

bool HttpExchange::Writable() const {
  std::lock_guard<std::mutex> lock(connection_->mu);
  return !connection_->closed;
}

}  // namespace dorset::gateway
