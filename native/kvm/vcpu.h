// A vCPU: its fd, the shared kvm_run page, register setup, and KVM_RUN with one exit switch.
#pragma once
#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "fd.h"
#include "system.h"
#include "vm.h"

namespace kvmctl {

enum class ExitKind {
  kIo,             // port I/O: kvm_run->io, data in the run page
  kMmio,           // access where no slot is: kvm_run->mmio
  kHlt,
  kShutdown,       // triple fault
  kFailEntry,      // hardware refused the guest state
  kInternalError,  // KVM could not emulate something
  kSystemEvent,    // guest asked for reset / shutdown / crash
  kInterrupted,    // KVM_RUN returned EINTR: the watchdog's kick (immediate_exit or a signal)
  kOther,          // any other exit reason: not expected from the probe
};

struct VcpuExit {
  ExitKind kind;
  uint32_t reason;   // kvm_run->exit_reason
  uint64_t detail;   // fail_entry hardware reason, internal error suberror, system event type
};

const char* ExitKindName(ExitKind kind);

class Vcpu {
 public:
  Vcpu(const KvmSystem& kvm, const Vm& vm, int index);
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;
  ~Vcpu();

  int index() const { return index_; }
  kvm_run* run_page() const { return run_; }

  void SetCpuid(const std::vector<kvm_cpuid_entry2>& entries);
  // Real mode, flat: CS=0 IP=entry, interrupts off; esi = the vCPU index for the guest.
  void ResetToRealMode(uint64_t entry);
  // One KVM_RUN. EINTR becomes kInterrupted; other failures throw SysError.
  VcpuExit Run();
  // Makes the next (or current, once a signal lands) KVM_RUN return at once.
  void SetImmediateExit(bool on);

 private:
  int index_;
  UniqueFd fd_;
  kvm_run* run_ = nullptr;
  size_t run_size_ = 0;
};

}  // namespace kvmctl
