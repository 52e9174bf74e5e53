// Force-included into every mlx-c translation unit by build.rs.
// Why: mlx-c 0.7.0 calls std::format (C++20) in private/io.h, but libstdc++ only
// ships <format> from GCC 13 on, and Debian 12 has GCC 12. mlx-c only formats
// "{}" placeholders into error messages, so a stream-based stand-in suffices.
// On toolchains that have std::format this header does nothing.
#pragma once
#ifdef __cplusplus
#include <version>
#if __has_include(<format>)
#include <format>
#endif
#if !defined(__cpp_lib_format)
#include <sstream>
#include <string>
#include <string_view>

namespace std {
namespace mlx_sys_compat {
inline void write_formatted(std::ostringstream& out, std::string_view fmt) {
  out << fmt;
}

template <class T, class... Rest>
void write_formatted(
    std::ostringstream& out,
    std::string_view fmt,
    const T& value,
    const Rest&... rest) {
  const auto at = fmt.find("{}");
  if (at == std::string_view::npos) {
    out << fmt;
    return;
  }
  out << fmt.substr(0, at) << value;
  write_formatted(out, fmt.substr(at + 2), rest...);
}
} // namespace mlx_sys_compat

template <class... Args>
std::string format(std::string_view fmt, const Args&... args) {
  std::ostringstream out;
  mlx_sys_compat::write_formatted(out, fmt, args...);
  return out.str();
}
} // namespace std
#endif
#endif
