// A directory under $TMPDIR that is removed with everything in it when the object goes.
#ifndef DORSET_RUNTIME_TESTING_TEMP_DIR_H_
#define DORSET_RUNTIME_TESTING_TEMP_DIR_H_

#include <filesystem>
#include <string>

namespace dorset::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `content` to `path`, replacing it.
void WriteFile(const std::string& path, const std::string& content);

}  // namespace dorset::testing

#endif  // DORSET_RUNTIME_TESTING_TEMP_DIR_H_
