#include "system.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include "cpuid_buffer.h"
#include "ioctl.h"
#include "sys_error.h"

namespace kvmctl {

KvmSystem::KvmSystem(const std::string& device) {
  int fd = open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw SysError("open(" + device + ")", err);
  }
  fd_ = UniqueFd(fd);
  api_version_ = static_cast<int>(CheckSys(RetryIoctl(fd, KVM_GET_API_VERSION, 0), "ioctl(KVM_GET_API_VERSION)"));
  // Any other version means an ABI this code was not written for (KVM has been 12 since 2.6.22).
  if (api_version_ != KVM_API_VERSION) throw SysError("ioctl(KVM_GET_API_VERSION)", EPROTO);
}

int KvmSystem::CheckExtension(int cap) const {
  return static_cast<int>(CheckSys(RetryIoctl(fd(), KVM_CHECK_EXTENSION, cap), "ioctl(KVM_CHECK_EXTENSION)"));
}

int KvmSystem::VcpuMmapSize() const {
  return static_cast<int>(CheckSys(RetryIoctl(fd(), KVM_GET_VCPU_MMAP_SIZE, 0), "ioctl(KVM_GET_VCPU_MMAP_SIZE)"));
}

std::vector<kvm_cpuid_entry2> KvmSystem::SupportedCpuid() const {
  for (size_t count = 64; count <= 4096; count *= 2) {
    CpuidBuffer buf(count);
    if (RetryIoctl(fd(), kIoctlGetSupportedCpuid, buf.get()) == 0) {
      return std::vector<kvm_cpuid_entry2>(buf.entries(), buf.entries() + buf.header()->nent);
    }
    if (errno != E2BIG) CheckSys(-1, "ioctl(KVM_GET_SUPPORTED_CPUID)");
  }
  throw SysError("ioctl(KVM_GET_SUPPORTED_CPUID)", E2BIG);
}

UniqueFd KvmSystem::CreateVm(unsigned long type) const {
  return UniqueFd(static_cast<int>(CheckSys(RetryIoctl(fd(), KVM_CREATE_VM, type), "ioctl(KVM_CREATE_VM)")));
}

}  // namespace kvmctl
