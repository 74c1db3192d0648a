// ioctl that is restarted when a signal interrupts it. KVM_CREATE_VM and other setup ioctls can
// fail with EINTR when a signal arrives mid-call (a profiler's SIGPROF, Node's own signals); that
// is not a failure, so they go again. KVM_RUN is the exception: there EINTR is the watchdog's
// kick, so it calls ioctl directly.
#pragma once
#include <sys/ioctl.h>

#include <cerrno>

namespace kvmctl {

template <typename Arg>
long RetryIoctl(int fd, unsigned long request, Arg arg) {
  long ret;
  do {
    ret = ioctl(fd, request, arg);
  } while (ret < 0 && errno == EINTR);
  return ret;
}

}  // namespace kvmctl
