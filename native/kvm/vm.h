// A VM: its fd and guest RAM in one memory slot at guest physical address 0.
#pragma once
#include <memory>

#include "fd.h"
#include "memory.h"
#include "system.h"

namespace kvmctl {

class Vm {
 public:
  explicit Vm(const KvmSystem& kvm);

  int fd() const { return fd_.get(); }
  // Maps guest RAM and registers it as slot 0 (KVM_SET_USER_MEMORY_REGION).
  void SetMemory(std::unique_ptr<GuestMemory> memory);
  const GuestMemory& memory() const { return *memory_; }
  bool has_memory() const { return memory_ != nullptr; }

 private:
  UniqueFd fd_;
  std::unique_ptr<GuestMemory> memory_;
};

}  // namespace kvmctl
