// Runs vCPUs until each stops, one thread per vCPU, bounded by a watchdog. A guest that spins,
// faults or wedges ends as an outcome (timed out, shutdown, ...), never as a hang of the caller.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../kvm/vcpu.h"
#include "probe_bus.h"

namespace kvmctl {

struct VcpuOutcome {
  int index = 0;
  VcpuExit exit{ExitKind::kOther, 0, 0};  // the exit that stopped the vCPU
  bool yielded = false;                   // stopped by the bus (the YIELD port), not by KVM
  bool timed_out = false;                 // the watchdog stopped it
  bool failed = false;                    // KVM_RUN (or the bus) failed: syscall/err/message
  std::string syscall;
  int err = 0;
  std::string message;
  uint64_t exits = 0;          // exits taken, including the one that stopped it
  uint64_t first_exit_ns = 0;  // since the start of the run
  uint64_t end_ns = 0;
};

// CLOCK_MONOTONIC in ns.
uint64_t MonotonicNs();

// The signal that kicks a vCPU thread out of KVM_RUN. Its handler does nothing and is installed
// without SA_RESTART, so the ioctl returns EINTR.
int KickSignal();

// Runs `vcpus` concurrently until each stops at a non-I/O exit or yields, serving I/O and MMIO
// from `bus`.
// After timeout_ns the watchdog sets immediate_exit and signals every vCPU still running.
// start_ns receives the MonotonicNs() the run's times are relative to.
std::vector<VcpuOutcome> RunVcpus(const std::vector<Vcpu*>& vcpus, ProbeBus& bus, uint64_t timeout_ns,
                                  uint64_t* start_ns);

}  // namespace kvmctl
