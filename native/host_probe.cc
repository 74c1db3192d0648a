#include "host_probe.h"

#include <memory>
#include <string>

#include "errors.h"
#include "kvm/sys_error.h"
#include "kvm/system.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <cstring>

namespace kvmctl {

std::unique_ptr<KvmSystem> OpenKvmForProbe(const Napi::CallbackInfo& info, Napi::Object out) {
  std::string path = "/dev/kvm";
  if (info.Length() > 0 && info[0].IsString()) path = info[0].As<Napi::String>();
  try {
    auto kvm = std::make_unique<KvmSystem>(path);
    out.Set("open", "ok");
    return kvm;
  } catch (const SysError& e) {
    // KvmSystem opens, then asks the API version: a failure after "open" means it did open.
    bool opened = e.syscall.rfind("open", 0) != 0;
    out.Set("open", opened ? std::string("ok") : ErrnoName(e.err));
    if (opened) out.Set("apiVersionError", ErrnoName(e.err));
    return nullptr;
  }
}

Napi::Value ProbeKvm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Each step is reported as "ok" or the errno name of the call that failed, never thrown.
  Napi::Object out = Napi::Object::New(env);
  std::unique_ptr<KvmSystem> kvm = OpenKvmForProbe(info, out);
  if (!kvm) return out;
  out.Set("apiVersion", kvm->api_version());

  std::unique_ptr<Vm> vm;
  try {
    vm = std::make_unique<Vm>(*kvm);
  } catch (const SysError& e) {
    out.Set("createVm", ErrnoName(e.err));
    return out;
  }
  out.Set("createVm", "ok");
  try {
    Vcpu vcpu(*kvm, *vm, 0);
    out.Set("vcpu", "ok");
  } catch (const SysError& e) {
    out.Set("vcpu", ErrnoName(e.err));
  }
  return out;
}

#if defined(__x86_64__) || defined(__i386__)
static Napi::Object Registers(Napi::Env env, unsigned int eax, unsigned int ebx, unsigned int ecx, unsigned int edx) {
  Napi::Object regs = Napi::Object::New(env);
  regs.Set("eax", eax);
  regs.Set("ebx", ebx);
  regs.Set("ecx", ecx);
  regs.Set("edx", edx);
  return regs;
}
#endif

Napi::Value Cpuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(__x86_64__) || defined(__i386__)
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid(0, eax, ebx, ecx, edx);
  char vendor[13];
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  vendor[12] = 0;
  unsigned int max_ext = 0;
  __cpuid(0x80000000, max_ext, ebx, ecx, edx);

  __cpuid(1, eax, ebx, ecx, edx);
  bool vmx = ecx & (1u << 5);
  bool hypervisor = ecx & (1u << 31);
  bool svm = false;
  if (max_ext >= 0x80000001) {
    __cpuid(0x80000001, eax, ebx, ecx, edx);
    svm = ecx & (1u << 2);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("vendor", vendor);
  out.Set("vmx", vmx);
  out.Set("svm", svm);
  out.Set("hypervisor", hypervisor);
  // Leaf 0x8000001F: AMD memory encryption (SME, SEV, SEV-ES, SEV-SNP, C-bit, ASIDs), raw; null
  // when the CPU has no such leaf. Decoded in src/host/confidential.ts.
  if (max_ext >= 0x8000001F) {
    __cpuid(0x8000001F, eax, ebx, ecx, edx);
    out.Set("memEncrypt", Registers(env, eax, ebx, ecx, edx));
  } else {
    out.Set("memEncrypt", env.Null());
  }
  // Leaf 0x21 spells "IntelTDX    " in EBX, EDX, ECX inside a TDX guest (a host never sees it).
  unsigned int max_basic = 0;
  __cpuid(0, max_basic, ebx, ecx, edx);
  bool tdx_guest = false;
  if (max_basic >= 0x21) {
    __cpuid_count(0x21, 0, eax, ebx, ecx, edx);
    char sig[13];
    std::memcpy(sig, &ebx, 4);
    std::memcpy(sig + 4, &edx, 4);
    std::memcpy(sig + 8, &ecx, 4);
    sig[12] = 0;
    tdx_guest = std::strcmp(sig, "IntelTDX    ") == 0;
  }
  out.Set("tdxGuest", tdx_guest);
  return out;
#else
  return env.Null();
#endif
}

}  // namespace kvmctl
