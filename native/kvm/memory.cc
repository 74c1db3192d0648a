#include "memory.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stdexcept>

#include "fd.h"
#include "sys_error.h"

namespace kvmctl {

GuestMemory::GuestMemory(size_t size, Backing backing, const std::string& hugetlbfs_dir)
    : size_(size), backing_(backing) {
  void* addr = MAP_FAILED;
  switch (backing) {
    case Backing::kAnonymous:
      addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (addr == MAP_FAILED) CheckSys(-1, "mmap(anonymous)");
      break;
    case Backing::kHugetlb:
      addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
                  -1, 0);
      if (addr == MAP_FAILED) CheckSys(-1, "mmap(MAP_HUGETLB)");
      break;
    case Backing::kHugetlbfs: {
      std::string path = hugetlbfs_dir + "/kvmctl-guest-XXXXXX";
      UniqueFd fd(mkostemp(path.data(), O_CLOEXEC));
      if (fd.get() < 0) CheckSys(-1, "mkostemp(hugetlbfs)");
      unlink(path.c_str());  // the mapping keeps the pages; nothing is left behind on a crash
      CheckSys(ftruncate(fd.get(), static_cast<off_t>(size)), "ftruncate(hugetlbfs)");
      addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd.get(), 0);
      if (addr == MAP_FAILED) CheckSys(-1, "mmap(hugetlbfs)");
      break;
    }
  }
  host_ = static_cast<uint8_t*>(addr);
}

GuestMemory::~GuestMemory() {
  if (host_) munmap(host_, size_);
}

uint8_t* GuestMemory::At(uint64_t gpa, size_t len) const {
  if (gpa > size_ || len > size_ - gpa) throw std::out_of_range("guest address range outside guest RAM");
  return host_ + gpa;
}

}  // namespace kvmctl
