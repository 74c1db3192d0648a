// Module entry: registers every native function. Each area lives in its own file.
#include <napi.h>

#include "host_probe.h"
#include "host_read.h"
#include "probe_vm.h"
#include "vm_types.h"

namespace kvmctl {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probeKvm", Napi::Function::New(env, ProbeKvm, "probeKvm"));
  exports.Set("cpuid", Napi::Function::New(env, Cpuid, "cpuid"));
  exports.Set("readKernelLog", Napi::Function::New(env, ReadKernelLog, "readKernelLog"));
  exports.Set("formatKernelLog", Napi::Function::New(env, FormatKernelLog, "formatKernelLog"));
  exports.Set("gunzip", Napi::Function::New(env, Gunzip, "gunzip"));
  exports.Set("readTextFile", Napi::Function::New(env, ReadTextFile, "readTextFile"));
  exports.Set("probeVmTypes", Napi::Function::New(env, ProbeVmTypes, "probeVmTypes"));
  InitProbeVm(env, exports);
  return exports;
}

}  // namespace kvmctl

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return kvmctl::Init(env, exports); }

NODE_API_MODULE(kvmctl_native, InitModule)
