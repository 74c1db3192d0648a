#include "host_probe.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errors.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace kvmctl {

namespace {

// Closes a descriptor on scope exit so every early return of the probe releases what it opened.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

Napi::Value ProbeKvm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = "/dev/kvm";
  if (info.Length() > 0 && info[0].IsString()) path = info[0].As<Napi::String>();

  Napi::Object out = Napi::Object::New(env);
  Fd kvm(open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (kvm.fd < 0) {
    out.Set("open", ErrnoName(errno));
    return out;
  }
  out.Set("open", "ok");

  int api = ioctl(kvm.fd, KVM_GET_API_VERSION, 0);
  if (api < 0) {
    out.Set("apiVersionError", ErrnoName(errno));
    return out;
  }
  out.Set("apiVersion", api);

  Fd vm(ioctl(kvm.fd, KVM_CREATE_VM, 0));
  if (vm.fd < 0) {
    out.Set("createVm", ErrnoName(errno));
    return out;
  }
  out.Set("createVm", "ok");

  Fd vcpu(ioctl(vm.fd, KVM_CREATE_VCPU, 0));
  out.Set("vcpu", vcpu.fd < 0 ? ErrnoName(errno) : std::string("ok"));
  return out;
}

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
  return out;
#else
  return env.Null();
#endif
}

}  // namespace kvmctl
