// Helpers of the FHIR process tests: a child process spoken to over pipes (the schema
// validator, the gateway) and reading google.protobuf.Struct views of FHIR JSON.
#ifndef DORSET_TESTS_GATEWAY_FHIR_FHIR_TEST_SUPPORT_H_
#define DORSET_TESTS_GATEWAY_FHIR_FHIR_TEST_SUPPORT_H_

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace dorset::gateway::fhir {

using google::protobuf::Struct;
using google::protobuf::Value;

// A child process with its stdin and stdout on pipes.
class Child {
 public:
  Child(std::vector<std::string> args, const std::string& log) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // started on the test's main thread: dies with the test
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      if (freopen(log.c_str(), "a", stderr) == nullptr) _exit(126);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
  }
  ~Child() {
    if (to_) fclose(to_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (from_) fclose(from_);
  }
  // Sends a line and reads one back ("" at end of file).
  std::string Ask(const std::string& line) {
    if (!line.empty()) {
      fputs((line + "\n").c_str(), to_);
      fflush(to_);
    }
    std::string reply;
    char buffer[4096];
    while (fgets(buffer, sizeof buffer, from_) != nullptr) {
      reply += buffer;
      if (!reply.empty() && reply.back() == '\n') break;
    }
    if (!reply.empty() && reply.back() == '\n') reply.pop_back();
    return reply;
  }

 private:
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

inline Struct Parse(const std::string& json) {
  Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  return parsed;
}

inline std::string Str(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "" : it->second.string_value();
}

inline const Struct& Obj(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? Struct::default_instance() : it->second.struct_value();
}

inline const google::protobuf::ListValue& List(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? google::protobuf::ListValue::default_instance()
                                : it->second.list_value();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace dorset::gateway::fhir

#endif  // DORSET_TESTS_GATEWAY_FHIR_FHIR_TEST_SUPPORT_H_
