// struct kvm_cpuid2 as the kernel lays it out. g++ reads the header's flexible array of
// <linux/kvm.h> differently (sizeof 12, entries at offset 12, not 8), which also changes the
// size encoded in the ioctl numbers; so C++ code uses this layout and these numbers instead.
#pragma once
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdlib>
#include <memory>
#include <new>

namespace kvmctl {

struct KvmCpuid2Header {
  __u32 nent;
  __u32 padding;
};

constexpr unsigned long kIoctlGetSupportedCpuid = _IOWR(KVMIO, 0x05, KvmCpuid2Header);
constexpr unsigned long kIoctlSetCpuid2 = _IOW(KVMIO, 0x90, KvmCpuid2Header);

// A zeroed header followed by room for `count` entries.
class CpuidBuffer {
 public:
  explicit CpuidBuffer(size_t count)
      : bytes_(static_cast<char*>(std::calloc(1, sizeof(KvmCpuid2Header) + count * sizeof(kvm_cpuid_entry2))),
               &std::free) {
    if (!bytes_) throw std::bad_alloc();
    header()->nent = static_cast<__u32>(count);
  }
  KvmCpuid2Header* header() { return reinterpret_cast<KvmCpuid2Header*>(bytes_.get()); }
  kvm_cpuid_entry2* entries() { return reinterpret_cast<kvm_cpuid_entry2*>(bytes_.get() + sizeof(KvmCpuid2Header)); }
  void* get() { return bytes_.get(); }

 private:
  std::unique_ptr<char, decltype(&std::free)> bytes_;
};

}  // namespace kvmctl
