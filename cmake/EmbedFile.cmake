# cmake -DIN=<file> -DOUT=<file.cc> -DSYMBOL=<name> -P EmbedFile.cmake
# Writes a C++ source defining `std::string_view SYMBOL()` holding IN's bytes.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT}
  "// Generated from ${IN} by cmake/EmbedFile.cmake; do not edit.\n"
  "#include <string_view>\n"
  "namespace { const unsigned char kData[] = {${bytes} 0}; }\n"
  "std::string_view ${SYMBOL}() {\n"
  "  return std::string_view(reinterpret_cast<const char*>(kData), sizeof(kData) - 1);\n"
  "}\n")
