// Failures of the KVM layer. This layer knows nothing of JS: it throws SysError, and the binding
// turns it into a JS Error with .syscall and .code (native/errors.h).
#pragma once
#include <cerrno>
#include <stdexcept>
#include <string>

namespace kvmctl {

struct SysError : std::runtime_error {
  SysError(const std::string& call, int code) : std::runtime_error(call), syscall(call), err(code) {}
  std::string syscall;  // e.g. "ioctl(KVM_CREATE_VM)"
  int err;              // errno
};

// Returns ret, or throws SysError(call, errno) when it is negative.
inline long CheckSys(long ret, const char* call) {
  if (ret < 0) {
    int err = errno;
    throw SysError(call, err);
  }
  return ret;
}

}  // namespace kvmctl
