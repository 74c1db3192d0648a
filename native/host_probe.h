// What `kvmctl check` asks of the machine that is not a file: /dev/kvm really opened, and CPUID.
#pragma once
#include <napi.h>

namespace kvmctl {

// probeKvm(path): {open, apiVersion?, createVm?, vcpu?}; each step "ok" or an errno name.
Napi::Value ProbeKvm(const Napi::CallbackInfo& info);

// cpuid(): {vendor, vmx, svm, hypervisor, memEncrypt: leaf 0x8000001F {eax, ebx, ecx, edx} or null,
// tdxGuest} from the CPUID instruction; null off x86.
Napi::Value Cpuid(const Napi::CallbackInfo& info);

}  // namespace kvmctl
