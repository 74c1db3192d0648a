// Guest RAM: host memory mapped for one KVM memory slot. Anonymous pages, hugepages through
// MAP_HUGETLB, or hugepages from an (unlinked) file on a hugetlbfs mount.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace kvmctl {

enum class Backing { kAnonymous, kHugetlb, kHugetlbfs };

class GuestMemory {
 public:
  // Maps size bytes. Hugepage backings are populated at once, so a short pool fails here
  // (ENOMEM) and not later inside the guest. hugetlbfs_dir is used by kHugetlbfs only.
  GuestMemory(size_t size, Backing backing, const std::string& hugetlbfs_dir);
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  ~GuestMemory();

  uint8_t* host() const { return host_; }
  size_t size() const { return size_; }
  Backing backing() const { return backing_; }
  // Host address of guest range [gpa, gpa+len) of this slot (which starts at 0); throws
  // std::out_of_range when it does not fit.
  uint8_t* At(uint64_t gpa, size_t len) const;

 private:
  uint8_t* host_ = nullptr;
  size_t size_ = 0;
  Backing backing_;
};

}  // namespace kvmctl
