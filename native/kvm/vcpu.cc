#include "vcpu.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cstring>

#include "cpuid_buffer.h"
#include "ioctl.h"
#include "sys_error.h"

namespace kvmctl {

const char* ExitKindName(ExitKind kind) {
  switch (kind) {
    case ExitKind::kIo: return "io";
    case ExitKind::kMmio: return "mmio";
    case ExitKind::kHlt: return "hlt";
    case ExitKind::kShutdown: return "shutdown";
    case ExitKind::kFailEntry: return "fail-entry";
    case ExitKind::kInternalError: return "internal-error";
    case ExitKind::kSystemEvent: return "system-event";
    case ExitKind::kInterrupted: return "interrupted";
    case ExitKind::kOther: return "other";
  }
  return "other";
}

Vcpu::Vcpu(const KvmSystem& kvm, const Vm& vm, int index)
    : index_(index),
      fd_(static_cast<int>(CheckSys(RetryIoctl(vm.fd(), KVM_CREATE_VCPU, index), "ioctl(KVM_CREATE_VCPU)"))) {
  run_size_ = static_cast<size_t>(kvm.VcpuMmapSize());
  void* page = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
  if (page == MAP_FAILED) CheckSys(-1, "mmap(kvm_run)");
  run_ = static_cast<kvm_run*>(page);
}

Vcpu::~Vcpu() {
  if (run_) munmap(run_, run_size_);
}

void Vcpu::SetCpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  CpuidBuffer buf(entries.size());
  std::memcpy(buf.entries(), entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
  // Each vCPU gets its own initial APIC ID, as a board would wire it.
  for (size_t i = 0; i < entries.size(); i++) {
    kvm_cpuid_entry2& e = buf.entries()[i];
    if (e.function == 1) e.ebx = (e.ebx & 0x00ffffffu) | (static_cast<uint32_t>(index_) << 24);
    if (e.function == 0xb || e.function == 0x1f) e.edx = static_cast<uint32_t>(index_);
  }
  CheckSys(RetryIoctl(fd_.get(), kIoctlSetCpuid2, buf.get()), "ioctl(KVM_SET_CPUID2)");
}

void Vcpu::ResetToRealMode(uint64_t entry) {
  kvm_sregs sregs{};
  CheckSys(RetryIoctl(fd_.get(), KVM_GET_SREGS, &sregs), "ioctl(KVM_GET_SREGS)");
  for (kvm_segment* seg : {&sregs.cs, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
    seg->base = 0;
    seg->selector = 0;
  }
  CheckSys(RetryIoctl(fd_.get(), KVM_SET_SREGS, &sregs), "ioctl(KVM_SET_SREGS)");
  kvm_regs regs{};
  regs.rip = entry;
  regs.rflags = 0x2;  // reserved bit 1; IF clear
  regs.rsi = static_cast<uint64_t>(index_);
  CheckSys(RetryIoctl(fd_.get(), KVM_SET_REGS, &regs), "ioctl(KVM_SET_REGS)");
}

void Vcpu::SetImmediateExit(bool on) {
  __atomic_store_n(&run_->immediate_exit, on ? 1 : 0, __ATOMIC_SEQ_CST);
}

VcpuExit Vcpu::Run() {
  if (ioctl(fd_.get(), KVM_RUN, 0) < 0) {
    if (errno == EINTR) return {ExitKind::kInterrupted, run_->exit_reason, 0};
    CheckSys(-1, "ioctl(KVM_RUN)");
  }
  uint32_t reason = run_->exit_reason;
  switch (reason) {
    case KVM_EXIT_IO: return {ExitKind::kIo, reason, 0};
    case KVM_EXIT_MMIO: return {ExitKind::kMmio, reason, 0};
    case KVM_EXIT_HLT: return {ExitKind::kHlt, reason, 0};
    case KVM_EXIT_SHUTDOWN: return {ExitKind::kShutdown, reason, 0};
    case KVM_EXIT_FAIL_ENTRY:
      return {ExitKind::kFailEntry, reason, run_->fail_entry.hardware_entry_failure_reason};
    case KVM_EXIT_INTERNAL_ERROR: return {ExitKind::kInternalError, reason, run_->internal.suberror};
    case KVM_EXIT_SYSTEM_EVENT: return {ExitKind::kSystemEvent, reason, run_->system_event.type};
    case KVM_EXIT_INTR: return {ExitKind::kInterrupted, reason, 0};
    default: return {ExitKind::kOther, reason, 0};
  }
}

}  // namespace kvmctl
