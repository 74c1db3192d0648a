#include "vm_types.h"

#include <memory>
#include <string>

#include "errors.h"
#include "host_probe.h"
#include "kvm/sys_error.h"
#include "kvm/system.h"

// Linux 6.10+ headers; the build machine's may be older. Values from include/uapi/linux/kvm.h
// and arch/x86/include/uapi/asm/kvm.h.
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif

namespace kvmctl {

// KVM_X86_SEV_VM 2, KVM_X86_SEV_ES_VM 3, KVM_X86_SNP_VM 4, KVM_X86_TDX_VM 5: the confidential
// types. 0 is the default VM and 1 (KVM_X86_SW_PROTECTED_VM) is for KVM's own testing.
constexpr int kFirstConfidentialType = 2;
constexpr int kLastConfidentialType = 5;

Napi::Value ProbeVmTypes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  std::unique_ptr<KvmSystem> kvm = OpenKvmForProbe(info, out);
  if (!kvm) return out;

  int types = 0;
  try {
    types = kvm->CheckExtension(KVM_CAP_VM_TYPES);
  } catch (const SysError& e) {
    out.Set("vmTypes", ErrnoName(e.err));
    return out;
  }
  out.Set("vmTypes", types);

  // Each offered confidential type: a VM created and closed at once (not initialised: creating
  // it is what the kernel's own support decides).
  Napi::Object created = Napi::Object::New(env);
  for (int type = kFirstConfidentialType; type <= kLastConfidentialType; type++) {
    if (!(types & (1 << type))) continue;
    try {
      UniqueFd vm = kvm->CreateVm(static_cast<unsigned long>(type));
      created.Set(std::to_string(type), "ok");
    } catch (const SysError& e) {
      created.Set(std::to_string(type), ErrnoName(e.err));
    }
  }
  out.Set("created", created);
  return out;
}

}  // namespace kvmctl
