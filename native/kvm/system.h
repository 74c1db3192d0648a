// The KVM system: /dev/kvm opened, the API version checked, capabilities and CPUID asked of it.
#pragma once
#include <linux/kvm.h>

#include <string>
#include <vector>

#include "fd.h"

namespace kvmctl {

class KvmSystem {
 public:
  // Opens the device and checks KVM_GET_API_VERSION is the stable 12. Throws SysError.
  explicit KvmSystem(const std::string& device);

  int fd() const { return fd_.get(); }
  int api_version() const { return api_version_; }
  // KVM_CHECK_EXTENSION: 0 when absent, else the capability's value.
  int CheckExtension(int cap) const;
  int VcpuMmapSize() const;
  // KVM_GET_SUPPORTED_CPUID, growing the buffer while the kernel answers E2BIG.
  std::vector<kvm_cpuid_entry2> SupportedCpuid() const;
  // KVM_CREATE_VM of the given machine type (0: the default VM).
  UniqueFd CreateVm(unsigned long type = 0) const;

 private:
  UniqueFd fd_;
  int api_version_ = 0;
};

}  // namespace kvmctl
