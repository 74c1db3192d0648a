// Error helpers shared by every native file: errno names and JS errors that carry the syscall.
#pragma once
#include <napi.h>
#include <string>

namespace kvmctl {

// "ENOENT", "EACCES", ...; "E<number>" for codes without a known name.
std::string ErrnoName(int err);

// A JS Error "<syscall> failed: <strerror> (<CODE>)" with .syscall, .code and .errno set.
Napi::Error SyscallError(Napi::Env env, const std::string& syscall, int err);

}  // namespace kvmctl
