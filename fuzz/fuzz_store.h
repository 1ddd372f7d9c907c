// A registry store for fuzz targets: one SQLite file in a fresh temporary directory, opened
// once per process (so state accumulates across inputs, as a long-running registry's does) and
// removed at exit.
#ifndef DORSET_FUZZ_FUZZ_STORE_H_
#define DORSET_FUZZ_FUZZ_STORE_H_

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "services/registry/storage/store.h"

namespace dorset::fuzz {

inline const std::string& FuzzDir() {
  static const std::string* dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base ? base : "/tmp") + "/fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) __builtin_trap();
    std::atexit([] { std::filesystem::remove_all(FuzzDir()); });
    return new std::string(pattern);
  }();
  return *dir;
}

inline registry::Store& FuzzStore() {
  static registry::Store* store = [] {
    auto opened = registry::Store::OpenFile(FuzzDir() + "/registry.db");
    if (!opened.ok()) __builtin_trap();
    return opened->release();
  }();
  return *store;
}

}  // namespace dorset::fuzz

#endif  // DORSET_FUZZ_FUZZ_STORE_H_
