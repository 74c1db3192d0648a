// What `kvmctl check` asks of the machine that is not a file: /dev/kvm really opened, and CPUID.
#pragma once
#include <napi.h>

#include <memory>

#include "kvm/system.h"

namespace kvmctl {

// Opens the KVM device named by info[0] (default /dev/kvm). On failure it records the failed step
// in `out` ({open: errno} or {open: "ok", apiVersionError: errno}) and returns null: the probes
// report each step, they never throw. On success it sets out.open = "ok".
std::unique_ptr<KvmSystem> OpenKvmForProbe(const Napi::CallbackInfo& info, Napi::Object out);

// probeKvm(path): {open, apiVersion?, createVm?, vcpu?}; each step "ok" or an errno name.
Napi::Value ProbeKvm(const Napi::CallbackInfo& info);

// cpuid(): {vendor, vmx, svm, hypervisor, memEncrypt: leaf 0x8000001F {eax, ebx, ecx, edx} or null,
// tdxGuest} from the CPUID instruction; null off x86.
Napi::Value Cpuid(const Napi::CallbackInfo& info);

}  // namespace kvmctl
