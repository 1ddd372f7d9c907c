#include "runtime/cache/redis_cache.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "runtime/logging/log.h"

namespace dorset::runtime {
namespace {

struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ContextPtr = std::unique_ptr<redisContext, RedisFree>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

// Sends argv as one binary-safe command.
ReplyPtr Command(redisContext* c, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return ReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

}  // namespace

struct RedisCache::Connection {
  ContextPtr context;
};

struct RedisCache::Metrics {
  prometheus::Counter* hit = nullptr;
  prometheus::Counter* miss = nullptr;
  prometheus::Counter* error = nullptr;
  prometheus::Counter* skipped = nullptr;
  prometheus::Gauge* breaker_open = nullptr;
};

RedisCache::RedisCache(RedisOptions options, prometheus::Registry* registry)
    : options_(std::move(options)),
      breaker_(options_.breaker_failures, options_.breaker_open_for),
      metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    auto& requests = prometheus::BuildCounter()
                         .Name("dorset_cache_requests_total")
                         .Help("Cache operations by backend and result")
                         .Register(*registry);
    metrics_->hit = &requests.Add({{"backend", "redis"}, {"result", "hit"}});
    metrics_->miss = &requests.Add({{"backend", "redis"}, {"result", "miss"}});
    metrics_->error = &requests.Add({{"backend", "redis"}, {"result", "error"}});
    metrics_->skipped = &requests.Add({{"backend", "redis"}, {"result", "skipped"}});
    metrics_->breaker_open = &prometheus::BuildGauge()
                                  .Name("dorset_cache_breaker_open")
                                  .Help("1 while the Redis circuit breaker is open")
                                  .Register(*registry)
                                  .Add({});
  }
}

RedisCache::~RedisCache() = default;

std::unique_ptr<RedisCache::Connection> RedisCache::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    if (created_ >= options_.pool_size) {
      // Every connection is busy: wait briefly rather than open more than the pool allows.
      auto has_idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !idle_.empty(); };
      if (!mu_.AwaitWithTimeout(absl::Condition(&has_idle), options_.command_timeout)) {
        return nullptr;
      }
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++created_;
  }
  auto connection = std::make_unique<Connection>();
  return connection;  // connected lazily by WithConnection
}

void RedisCache::Release(std::unique_ptr<Connection> connection) {
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(connection));
}

void RedisCache::RecordFault(std::string_view op, std::string_view detail) {
  breaker_.RecordFailure();
  if (metrics_->error) metrics_->error->Increment();
  if (metrics_->breaker_open) metrics_->breaker_open->Set(breaker_.open() ? 1 : 0);
  {
    absl::MutexLock lock(&mu_);
    last_ok_ = false;
    last_error_ = std::string(detail);
  }
  log::Warn("redis cache fault; serving without cache",
            {{"op", op}, {"error", detail}, {"breaker_open", breaker_.open()}});
}

template <typename Fn>
bool RedisCache::WithConnection(std::string_view op, Fn&& fn) {
  if (!breaker_.Allow()) {
    if (metrics_->skipped) metrics_->skipped->Increment();
    return false;
  }
  std::unique_ptr<Connection> connection = Acquire();
  if (connection == nullptr) {
    RecordFault(op, "connection pool exhausted");
    return false;
  }
  if (connection->context == nullptr) {
    const timeval connect_timeout = ToTimeval(options_.connect_timeout);
    ContextPtr context(
        redisConnectWithTimeout(options_.host.c_str(), options_.port, connect_timeout));
    if (context == nullptr || context->err) {
      RecordFault(op, context ? context->errstr : "cannot allocate redis context");
      Release(std::move(connection));
      return false;
    }
    const timeval command_timeout = ToTimeval(options_.command_timeout);
    redisSetTimeout(context.get(), command_timeout);
    if (!options_.password.empty()) {
      ReplyPtr auth = options_.username.empty()
                          ? Command(context.get(), {"AUTH", options_.password})
                          : Command(context.get(), {"AUTH", options_.username, options_.password});
      if (auth == nullptr || auth->type == REDIS_REPLY_ERROR) {
        // Redis' reply names the user at most, never the password.
        RecordFault(op, auth ? absl::StrCat("AUTH refused: ", std::string(auth->str, auth->len))
                             : absl::StrCat("AUTH failed: ", context->errstr));
        Release(std::move(connection));
        return false;
      }
    }
    connection->context = std::move(context);
  }
  ReplyPtr reply = fn(connection->context.get());
  if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) {
    const std::string detail =
        reply ? std::string(reply->str, reply->len) : std::string(connection->context->errstr);
    // After an I/O error a context is unusable: drop it so the next use reconnects.
    if (reply == nullptr) connection->context.reset();
    RecordFault(op, detail);
    Release(std::move(connection));
    return false;
  }
  Release(std::move(connection));
  breaker_.RecordSuccess();
  if (metrics_->breaker_open) metrics_->breaker_open->Set(0);
  {
    absl::MutexLock lock(&mu_);
    last_ok_ = true;
  }
  return true;
}

std::optional<std::string> RedisCache::Get(std::string_view key) {
  std::optional<std::string> value;
  WithConnection("get", [&](redisContext* c) {
    ReplyPtr reply = Command(c, {"GET", key});
    if (reply && reply->type == REDIS_REPLY_STRING) value.emplace(reply->str, reply->len);
    return reply;
  });
  if (value.has_value()) {
    if (metrics_->hit) metrics_->hit->Increment();
  } else if (metrics_->miss) {
    metrics_->miss->Increment();
  }
  return value;
}

void RedisCache::Set(std::string_view key, std::string_view value, absl::Duration ttl) {
  const std::string ms = std::to_string(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl)));
  WithConnection("set", [&](redisContext* c) { return Command(c, {"SET", key, value, "PX", ms}); });
}

bool RedisCache::Delete(const std::vector<std::string>& keys) {
  if (keys.empty()) return true;
  std::vector<std::string_view> args = {"DEL"};
  for (const std::string& k : keys) args.push_back(k);
  return WithConnection("del", [&](redisContext* c) { return Command(c, args); });
}

void RedisCache::Publish(std::string_view channel, std::string_view message) {
  WithConnection("publish", [&](redisContext* c) {
    return Command(c, {"PUBLISH", channel, message});
  });
}

std::optional<Cache::Admission> RedisCache::AdmitInWindow(std::string_view key, int64_t limit,
                                                          absl::Duration window) {
  // Atomic and one round trip. The key is a sorted set of the admitted calls' times (Redis's
  // own clock, microseconds, so the replicas' clocks do not matter): drop those older than the
  // window, admit while fewer than `limit` remain. Members are "<time>-<count>", unique even
  // for two calls in one microsecond. Refused calls are not recorded, so a caller that keeps
  // calling is admitted again as soon as the window has room.
  static constexpr std::string_view kScript = R"lua(
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  local at = string.format('%.0f', now)
  redis.call('ZADD', KEYS[1], at, at .. '-' .. n)
  redis.call('PEXPIRE', KEYS[1], math.floor(window / 1000) + 1000)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
)lua";
  // A Redis user that may not run it (an ACL from before shared rate limits) is asked once: the
  // limits then stay per replica, and the cache's reads are not disturbed by refused calls.
  if (count_refused_.load()) return std::nullopt;
  const std::string limit_arg = std::to_string(limit);
  const std::string window_us =
      std::to_string(std::max<int64_t>(1, absl::ToInt64Microseconds(window)));
  std::optional<Admission> admission;
  WithConnection("ratelimit", [&](redisContext* c) {
    ReplyPtr reply = Command(c, {"EVAL", kScript, "1", key, limit_arg, window_us});
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER &&
        reply->element[1]->type == REDIS_REPLY_INTEGER) {
      admission = Admission{reply->element[0]->integer == 1,
                            absl::Microseconds(std::max<long long>(0, reply->element[1]->integer))};
    }
    if (reply && reply->type == REDIS_REPLY_ERROR &&
        std::string_view(reply->str, reply->len).find("NOPERM") != std::string_view::npos) {
      count_refused_.store(true);
      log::Warn("redis user may not keep rate limits (ACL); rate limits stay per replica", {});
    }
    return reply;
  });
  return admission;
}

bool RedisCache::Reachable() {
  if (breaker_.open()) return false;
  absl::MutexLock lock(&mu_);
  return last_ok_;
}

CacheHealth RedisCache::Health() {
  // An active probe, so readiness notices an outage (and recovery) even with no traffic.
  WithConnection("ping", [](redisContext* c) { return Command(c, {"PING"}); });
  CacheHealth health;
  health.backend = "redis";
  health.breaker_open = breaker_.open();
  absl::MutexLock lock(&mu_);
  health.ok = last_ok_ && !health.breaker_open;
  health.detail = health.ok ? absl::StrCat(options_.host, ":", options_.port)
                            : absl::StrCat("degraded: ", last_error_);
  return health;
}

}  // namespace dorset::runtime
