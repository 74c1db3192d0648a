#include "probe_bus.h"

#include <algorithm>
#include <cstring>

#include "../guest/probe_abi.h"

namespace kvmctl {

namespace {

uint64_t LoadLe(const uint8_t* p, unsigned size) {
  uint64_t v = 0;
  std::memcpy(&v, p, std::min(size, 8u));
  return v;
}

uint64_t SizeMask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1; }

}  // namespace

void ProbeBus::ClearLog(int vcpu) {
  VcpuBusLog& log = logs_.at(vcpu);
  log.events.clear();
  log.count_exits = log.count_first_ns = log.count_last_ns = 0;
  log.string_out.clear();
}

bool ProbeBus::HandleIo(int vcpu, kvm_run* run, uint64_t now_ns) {
  VcpuBusLog& log = logs_[vcpu];
  const uint16_t port = run->io.port;
  const unsigned size = run->io.size;
  const uint32_t count = run->io.count;
  const bool out = run->io.direction == KVM_EXIT_IO_OUT;
  uint8_t* data = reinterpret_cast<uint8_t*>(run) + run->io.data_offset;

  if (port == PROBE_PORT_COUNT && out) {
    if (log.count_exits++ == 0) log.count_first_ns = now_ns;
    log.count_last_ns = now_ns;
    return false;
  }
  if (out && port == PROBE_PORT_YIELD) return true;
  if (out && port == PROBE_PORT_MARK) {
    log.events.push_back({now_ns, port, LoadLe(data, size), count, BusEventKind::kMark, uint8_t(size), true});
    return false;
  }
  if (out && port == PROBE_PORT_KEY) {
    log.pending_key = static_cast<uint32_t>(LoadLe(data, size));
    return false;
  }
  if (out && port == PROBE_PORT_VALUE) {
    log.events.push_back(
        {now_ns, log.pending_key, LoadLe(data, size), count, BusEventKind::kReport, uint8_t(size), true});
    return false;
  }

  if (port == PROBE_PORT_ECHO) {
    if (out) {
      log.echo_latch = static_cast<uint32_t>(LoadLe(data + size * (count - 1), size));
    } else {
      uint64_t reply = ~uint64_t(log.echo_latch) & SizeMask(size);
      for (uint32_t i = 0; i < count; i++) std::memcpy(data + i * size, &reply, size);
    }
  } else if (port == PROBE_PORT_STRING) {
    size_t bytes = size_t(size) * count;
    if (out) {
      size_t room = PROBE_STRING_MAX - std::min<size_t>(log.string_out.size(), PROBE_STRING_MAX);
      log.string_out.append(reinterpret_cast<const char*>(data), std::min(bytes, room));
    } else {
      // Reads return what was written, last byte first, so the guest can tell it went round.
      const size_t n = log.string_out.size();
      for (size_t i = 0; i < bytes; i++) data[i] = i < n ? static_cast<uint8_t>(log.string_out[n - 1 - i]) : 0xff;
    }
  } else if (!out) {
    std::memset(data, 0xff, size_t(size) * count);  // an unclaimed port floats high
  }
  log.events.push_back({now_ns, port, LoadLe(data, size), count, BusEventKind::kPortIo, uint8_t(size), out});
  return false;
}

void ProbeBus::HandleMmio(int vcpu, kvm_run* run, uint64_t now_ns) {
  VcpuBusLog& log = logs_[vcpu];
  const uint64_t addr = run->mmio.phys_addr;
  const unsigned len = run->mmio.len;
  const bool in_window = addr >= PROBE_MMIO_ADDR && addr < PROBE_MMIO_ADDR + 0x1000;
  if (run->mmio.is_write) {
    if (in_window) log.mmio_latch = static_cast<uint32_t>(LoadLe(run->mmio.data, len));
  } else {
    uint64_t reply = in_window ? ~uint64_t(log.mmio_latch) : ~0ull;
    std::memcpy(run->mmio.data, &reply, std::min(len, 8u));
  }
  log.events.push_back({now_ns, addr, LoadLe(run->mmio.data, len), 1, BusEventKind::kMmio, uint8_t(len),
                        bool(run->mmio.is_write)});
}

}  // namespace kvmctl
