#include "vm.h"

#include <sys/ioctl.h>

#include "ioctl.h"
#include "sys_error.h"

namespace kvmctl {

Vm::Vm(const KvmSystem& kvm) : fd_(kvm.CreateVm()) {
  // Real mode needs a TSS area on Intel without unrestricted guest; other KVMs accept and ignore it.
  // Placed just under 4 GiB, away from guest RAM and the probe's MMIO window.
  if (kvm.CheckExtension(KVM_CAP_SET_TSS_ADDR) > 0) {
    CheckSys(RetryIoctl(fd(), KVM_SET_TSS_ADDR, 0xfffbd000UL), "ioctl(KVM_SET_TSS_ADDR)");
  }
}

void Vm::SetMemory(std::unique_ptr<GuestMemory> memory) {
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = memory->size();
  region.userspace_addr = reinterpret_cast<uint64_t>(memory->host());
  CheckSys(RetryIoctl(fd(), KVM_SET_USER_MEMORY_REGION, &region), "ioctl(KVM_SET_USER_MEMORY_REGION)");
  memory_ = std::move(memory);
}

}  // namespace kvmctl
