#include "runtime/testing/temp_dir.h"

#include <stdlib.h>

#include <fstream>
#include <stdexcept>

namespace dorset::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "dorset-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

}  // namespace dorset::testing
