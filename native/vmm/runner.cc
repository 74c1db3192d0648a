#include "runner.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>

#include "../kvm/sys_error.h"

namespace kvmctl {

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// A real-time signal: Node uses SIGUSR1 for its inspector and tools use SIGUSR2.
int KickSignal() { return SIGRTMIN + 3; }

namespace {

void InstallKickHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must come back with EINTR
    sigaction(KickSignal(), &sa, nullptr);
  });
}

struct RunState {
  std::mutex mutex;
  std::condition_variable done_cv;
  int running = 0;
  std::atomic<bool> stop{false};
};

void VcpuThread(Vcpu* vcpu, ProbeBus& bus, uint64_t start_ns, RunState& state, VcpuOutcome& out) {
  // Only the kick reaches this thread; Node's signals stay with Node's own threads.
  sigset_t mask;
  sigfillset(&mask);
  sigdelset(&mask, KickSignal());
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);

  out.index = vcpu->index();
  try {
    for (;;) {
      VcpuExit exit = vcpu->Run();
      uint64_t now = MonotonicNs() - start_ns;
      if (exit.kind == ExitKind::kInterrupted) {
        if (state.stop.load()) {
          out.exit = exit;
          out.timed_out = true;
          out.end_ns = now;
          break;
        }
        continue;  // a stray signal: resume the guest
      }
      if (out.exits++ == 0) out.first_exit_ns = now;
      if (exit.kind == ExitKind::kIo) {
        if (bus.HandleIo(vcpu->index(), vcpu->run_page(), now)) {
          out.exit = exit;
          out.yielded = true;
          out.end_ns = now;
          break;
        }
      } else if (exit.kind == ExitKind::kMmio) {
        bus.HandleMmio(vcpu->index(), vcpu->run_page(), now);
      } else {
        out.exit = exit;
        out.end_ns = now;
        break;
      }
    }
  } catch (const SysError& e) {
    out.failed = true;
    out.syscall = e.syscall;
    out.err = e.err;
    out.end_ns = MonotonicNs() - start_ns;
  } catch (const std::exception& e) {
    out.failed = true;
    out.message = e.what();
    out.end_ns = MonotonicNs() - start_ns;
  }
  std::lock_guard<std::mutex> lock(state.mutex);
  state.running--;
  state.done_cv.notify_all();
}

}  // namespace

std::vector<VcpuOutcome> RunVcpus(const std::vector<Vcpu*>& vcpus, ProbeBus& bus, uint64_t timeout_ns,
                                  uint64_t* start_ns) {
  InstallKickHandler();
  RunState state;
  std::vector<VcpuOutcome> outcomes(vcpus.size());
  std::vector<std::thread> threads;
  for (Vcpu* vcpu : vcpus) {
    vcpu->SetImmediateExit(false);
    bus.ClearLog(vcpu->index());
  }
  const uint64_t t0 = MonotonicNs();
  *start_ns = t0;
  state.running = static_cast<int>(vcpus.size());
  for (size_t i = 0; i < vcpus.size(); i++) {
    try {
      threads.emplace_back(VcpuThread, vcpus[i], std::ref(bus), t0, std::ref(state), std::ref(outcomes[i]));
    } catch (const std::system_error& e) {
      // No thread for this one (or the rest): they fail; the started ones run on as usual.
      std::lock_guard<std::mutex> lock(state.mutex);
      for (size_t j = i; j < vcpus.size(); j++) {
        outcomes[j].index = vcpus[j]->index();
        outcomes[j].failed = true;
        outcomes[j].message = std::string("could not start a vCPU thread: ") + e.what();
      }
      state.running -= static_cast<int>(vcpus.size() - i);
      break;
    }
  }

  {
    std::unique_lock<std::mutex> lock(state.mutex);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout_ns);
    if (!state.done_cv.wait_until(lock, deadline, [&] { return state.running == 0; })) {
      state.stop = true;
      // Kick until every vCPU is out: immediate_exit covers a thread between two KVM_RUNs, the
      // signal one inside KVM_RUN. Repeat in case a signal lands just before the ioctl.
      while (state.running > 0) {
        for (size_t i = 0; i < threads.size(); i++) {
          vcpus[i]->SetImmediateExit(true);
          pthread_kill(threads[i].native_handle(), KickSignal());
        }
        state.done_cv.wait_for(lock, std::chrono::milliseconds(1), [&] { return state.running == 0; });
      }
    }
  }
  for (std::thread& t : threads) t.join();
  return outcomes;
}

}  // namespace kvmctl
