// The gateway's event-driven HTTP/1.1 front over real sockets: the request parser's rules
// (framing, limits, keep-alive) table-driven, then a front with a handler of its own answering
// raw bytes: pipelined requests in order, answers from another thread, Expect: 100-continue,
// chunked bodies in and out, refusals, Connection: close.
#include "gateway/http_front.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/http_request_parser.h"
#include "gtest/gtest.h"

namespace dorset::gateway {
namespace {

struct ParseCase {
  std::string input;
  HttpParse::State want;
  int status = 0;         // for kError
  std::string body = "";  // for kComplete
  size_t consumed = 0;    // for kComplete; 0 = the whole input
  bool keep_alive = true;
};

TEST(HttpRequestParserTest, FramesRequestsPerRfc9112) {
  const std::vector<ParseCase> cases = {
      {"GET /v1/practices/J81002 HTTP/1.1\r\nHost: x\r\n\r\n", HttpParse::kComplete},
      {"GET /v1/practices/J81002 HTTP/1.1\r\nHost: x\r\n", HttpParse::kIncomplete},
      {"\r\nGET / HTTP/1.1\r\n\r\n", HttpParse::kComplete},
      {"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", HttpParse::kComplete, 0, "", 18},
      {"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET", HttpParse::kComplete, 0, "abc", 42},
      {"POST /x HTTP/1.1\r\ncontent-length: 3\r\n\r\nab", HttpParse::kIncomplete},
      {"POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
       HttpParse::kComplete, 0, "abc"},
      {"POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", HttpParse::kError,
       400},
      {"POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", HttpParse::kError, 400},
      {"POST /x HTTP/1.1\r\nContent-Length: 2000\r\n\r\n", HttpParse::kError, 413},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
       HttpParse::kComplete, 0, "abcde"},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n",
       HttpParse::kComplete, 0, "abc"},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
       HttpParse::kIncomplete},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
       HttpParse::kError, 400},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HttpParse::kError, 400},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n401\r\n", HttpParse::kError, 413},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", HttpParse::kError, 501},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n",
       HttpParse::kError, 400},
      {"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", HttpParse::kError, 400},
      {"GET / HTTP/2.0\r\n\r\n", HttpParse::kError, 505},
      {"GET / HTTP/1.1 extra\r\n\r\n", HttpParse::kError, 400},
      {"GET http://x/ HTTP/1.1\r\n\r\n", HttpParse::kError, 400},
      {"G(T / HTTP/1.1\r\n\r\n", HttpParse::kError, 400},
      {"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", HttpParse::kError, 400},
      {"GET / HTTP/1.1\r\nNo colon\r\n\r\n", HttpParse::kError, 400},
      {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", HttpParse::kError, 400},
      {"GET / HTTP/1.1\r\nX: a\x01"
       "b\r\n\r\n",
       HttpParse::kError, 400},
      {absl::StrCat("GET / HTTP/1.1\r\nX: ", std::string(600, 'a')), HttpParse::kError, 431},
      {absl::StrCat("GET / HTTP/1.1\r\nX: ", std::string(600, 'a'), "\r\n\r\n"), HttpParse::kError,
       431},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", HttpParse::kComplete, 0, "", 0, false},
      {"GET / HTTP/1.1\r\nConnection: Keep-Alive, Close\r\n\r\n", HttpParse::kComplete, 0, "", 0,
       false},
      {"GET / HTTP/1.0\r\n\r\n", HttpParse::kComplete, 0, "", 0, false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", HttpParse::kComplete},
  };
  HttpLimits limits;
  limits.max_head_bytes = 512;
  limits.max_body_bytes = 1024;
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(c.input);
    HttpRequest request;
    const HttpParse parse = ParseHttpRequest(c.input, limits, request);
    EXPECT_EQ(parse.state, c.want) << parse.error;
    if (c.want == HttpParse::kError) {
      EXPECT_EQ(parse.http_status, c.status) << parse.error;
      EXPECT_FALSE(parse.error.empty());
    }
    if (c.want == HttpParse::kComplete) {
      EXPECT_EQ(request.body, c.body);
      EXPECT_EQ(parse.consumed, c.consumed ? c.consumed : c.input.size());
      EXPECT_EQ(request.keep_alive, c.keep_alive);
    }
  }
}

TEST(HttpRequestParserTest, SplitsTargetAndReadsHeadersCaseInsensitively) {
  HttpRequest request;
  const HttpParse parse = ParseHttpRequest(
      "GET /v1/practices?page_size=2&x=%20 HTTP/1.1\r\nAUTHORIZATION:  Bearer t  \r\n"
      "Expect: 100-continue\r\n\r\n",
      HttpLimits(), request);
  ASSERT_EQ(parse.state, HttpParse::kComplete);
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.Path(), "/v1/practices");
  EXPECT_EQ(request.Query(), "page_size=2&x=%20");
  EXPECT_EQ(request.Header("authorization"), "Bearer t");
  EXPECT_TRUE(request.HasHeader("Authorization"));
  EXPECT_FALSE(request.HasHeader("X-Request-Id"));
  EXPECT_FALSE(request.expect_continue);  // the (empty) body is already complete

  const HttpParse waiting =
      ParseHttpRequest("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
                       HttpLimits(), request);
  EXPECT_EQ(waiting.state, HttpParse::kIncomplete);
  EXPECT_TRUE(request.expect_continue);
}

// A front whose handler echoes the method, target and body; "/later" is answered from another
// thread, "/stream" as three chunks.
class HttpFrontTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpLimits limits;
    limits.max_body_bytes = 1024;
    auto front = HttpFront::Start(
        "127.0.0.1", 0, limits,
        [](HttpRequest request, std::shared_ptr<HttpExchange> exchange) {
          HttpReply reply;
          reply.content_type = "text/plain";
          reply.body = absl::StrCat(request.method, " ", request.target, " ", request.body);
          if (request.target == "/later") {
            std::thread([exchange, reply]() mutable {
              exchange->Reply(std::move(reply));
            }).detach();
          } else if (request.target == "/stream") {
            std::thread([exchange] {
              HttpReply head;
              head.content_type = "application/x-ndjson";
              exchange->StartStream(head);
              for (const char* line : {"{\"a\":1}\n", "{\"a\":2}\n", "{\"a\":3}\n"}) {
                exchange->WriteChunk(line);
              }
              exchange->EndStream();
            }).detach();
          } else {
            exchange->Reply(std::move(reply));
          }
        },
        [](int status, const std::string& why) {
          HttpReply reply;
          reply.status = status;
          reply.content_type = "text/plain";
          reply.body = why;
          return reply;
        });
    ASSERT_TRUE(front.ok()) << front.status();
    front_ = *std::move(front);
  }

  int Connect() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(front_->port()));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    return fd;
  }
  static void Send(int fd, const std::string& bytes) {
    ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Reads until `want` bytes have come or the server closes.
  static std::string Read(int fd, size_t want) {
    std::string got;
    char buffer[4096];
    while (got.size() < want) {
      const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      got.append(buffer, static_cast<size_t>(n));
    }
    return got;
  }
  static std::string ReadToClose(int fd) { return Read(fd, SIZE_MAX); }
  static std::string Answer(const std::string& body, bool keep_alive = true) {
    return absl::StrCat(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ", body.size(),
        "\r\nConnection: ", keep_alive ? "keep-alive" : "close", "\r\n\r\n", body);
  }

  std::unique_ptr<HttpFront> front_;
};

TEST_F(HttpFrontTest, AnswersPipelinedRequestsInOrderOnOneConnection) {
  const int fd = Connect();
  Send(fd,
       "GET /later HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /later?x=1 "
       "HTTP/1.1\r\n\r\n");
  const std::string want =
      absl::StrCat(Answer("GET /later "), Answer("POST /b hi"), Answer("GET /later?x=1 "));
  EXPECT_EQ(Read(fd, want.size()), want);
  // The connection stays open for the next.
  Send(fd, "GET /again HTTP/1.1\r\n\r\n");
  EXPECT_EQ(Read(fd, Answer("GET /again ").size()), Answer("GET /again "));
  close(fd);
}

TEST_F(HttpFrontTest, RequestsSplitAcrossWritesAndContinue) {
  const int fd = Connect();
  Send(fd, "POST /c HTTP/1.1\r\nContent-Le");
  Send(fd, "ngth: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(Read(fd, 25), "HTTP/1.1 100 Continue\r\n\r\n");
  Send(fd, "ab");
  Send(fd, "cde");
  EXPECT_EQ(Read(fd, Answer("POST /c abcde").size()), Answer("POST /c abcde"));
  Send(fd, "POST /d HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n");
  Send(fd, "1\r\nz\r\n0\r\n\r\n");
  EXPECT_EQ(Read(fd, Answer("POST /d xyz").size()), Answer("POST /d xyz"));
  close(fd);
}

TEST_F(HttpFrontTest, StreamsChunks) {
  const int fd = Connect();
  Send(fd, "GET /stream HTTP/1.1\r\n\r\n");
  const std::string want =
      "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
      "Connection: keep-alive\r\n\r\n8\r\n{\"a\":1}\n\r\n8\r\n{\"a\":2}\n\r\n8\r\n{\"a\":3}\n\r\n"
      "0\r\n\r\n";
  EXPECT_EQ(Read(fd, want.size()), want);
  close(fd);
}

TEST_F(HttpFrontTest, ClosesWhenAskedAndAfterARefusal) {
  int fd = Connect();
  Send(fd, "GET /bye HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n");
  EXPECT_EQ(ReadToClose(fd), Answer("GET /bye ", false));
  close(fd);

  fd = Connect();
  Send(fd, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/9.9\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
  const std::string refused = "only HTTP/1.x is served";
  EXPECT_EQ(ReadToClose(fd),
            absl::StrCat(Answer("GET /a "),
                         "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain\r\n"
                         "Content-Length: ",
                         refused.size(), "\r\nConnection: close\r\n\r\n", refused));
  close(fd);

  // A body over the limit is refused from its Content-Length, before it is sent.
  fd = Connect();
  Send(fd, "POST /big HTTP/1.1\r\nContent-Length: 5000\r\n\r\n");
  const std::string answer = ReadToClose(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u) << answer;
  close(fd);
}

TEST_F(HttpFrontTest, StopsWithConnectionsOpenAndAnswersStillComing) {
  const int fd = Connect();
  Send(fd, "GET /later HTTP/1.1\r\n\r\n");
  (void)Read(fd, Answer("GET /later ").size());
  Send(fd, "GET /later HTTP/1.1\r\n\r\n");
  front_->Stop();
  front_.reset();  // an answer may still come after: dropped
  close(fd);
}

}  // namespace
}  // namespace dorset::gateway
