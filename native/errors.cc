#include "errors.h"

#include <cerrno>
#include <cstring>

namespace kvmctl {

std::string ErrnoName(int err) {
  // strerrorname_np is glibc >= 2.32; keep a fallback so musl builds still name the code.
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* name = strerrorname_np(err)) return name;
#endif
  return "E" + std::to_string(err);
}

Napi::Error SyscallError(Napi::Env env, const std::string& syscall, int err) {
  std::string code = ErrnoName(err);
  Napi::Error error =
      Napi::Error::New(env, syscall + " failed: " + std::strerror(err) + " (" + code + ")");
  error.Set("syscall", Napi::String::New(env, syscall));
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  return error;
}

}  // namespace kvmctl
