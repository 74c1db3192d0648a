// The JS face of the VMM: createVm() returns a ProbeVm that owns one VM (KVM system fd, VM,
// guest RAM, vCPUs, the probe bus). Policy (which stages, what counts as a pass) is in src/vmm.
#pragma once
#include <napi.h>

namespace kvmctl {

void InitProbeVm(Napi::Env env, Napi::Object exports);

}  // namespace kvmctl
