// Which confidential VM types KVM offers, proven by creating one of each (KVM_CAP_VM_TYPES).
#pragma once
#include <napi.h>

namespace kvmctl {

// probeVmTypes(path): {open, apiVersionError?, vmTypes?: bitmask | errno name,
// created?: {[type]: "ok" | errno name}}; never throws for a failing step.
Napi::Value ProbeVmTypes(const Napi::CallbackInfo& info);

}  // namespace kvmctl
