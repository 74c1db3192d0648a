// The probe's devices: the ports and the MMIO window of native/guest/probe_abi.h, served on the
// vCPU thread so an exit costs no call into JS. Each vCPU has its own log and latches, so the
// bus needs no locks; the logs are read once the run has ended.
#pragma once
#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kvmctl {

enum class BusEventKind : uint8_t { kMark, kReport, kPortIo, kMmio };

// One logged exit (compact: the probe logs tens of them; the COUNT port only counts).
struct BusEvent {
  uint64_t t_ns;     // since the start of the run
  uint64_t address;  // port or guest physical address; the key for reports
  uint64_t value;    // data written or returned (first 8 bytes); the mark code
  uint32_t count;    // string I/O repetitions
  BusEventKind kind;
  uint8_t size;
  bool write;
};

struct VcpuBusLog {
  std::vector<BusEvent> events;
  uint64_t count_exits = 0;  // OUTs to the COUNT port
  uint64_t count_first_ns = 0;
  uint64_t count_last_ns = 0;
  std::string string_out;  // bytes written to the STRING port
  uint32_t pending_key = 0;
  uint32_t echo_latch = 0;
  uint32_t mmio_latch = 0;
};

class ProbeBus {
 public:
  explicit ProbeBus(int vcpus) : logs_(vcpus) {}

  // Serves an exit of vCPU `vcpu`: reads what the guest wrote, fills in what it reads.
  // Returns true when the guest asked to stop (the YIELD port), as HLT would.
  bool HandleIo(int vcpu, kvm_run* run, uint64_t now_ns);
  void HandleMmio(int vcpu, kvm_run* run, uint64_t now_ns);

  VcpuBusLog& log(int vcpu) { return logs_.at(vcpu); }
  // Forgets what a vCPU logged (before it runs again); latches persist across runs.
  void ClearLog(int vcpu);

 private:
  std::vector<VcpuBusLog> logs_;
};

}  // namespace kvmctl
