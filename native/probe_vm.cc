#include "probe_vm.h"

#include <cstring>
#include <memory>
#include <vector>

#include "errors.h"
#include "guest/probe_abi.h"
#include "kvm/sys_error.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "vmm/probe_bus.h"
#include "vmm/runner.h"

namespace kvmctl {

namespace {

// Runs fn, turning the KVM layer's C++ exceptions into JS errors.
template <typename Fn>
auto Guarded(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const SysError& e) {
    throw SyscallError(env, e.syscall, e.err);
  } catch (const std::out_of_range& e) {
    throw Napi::RangeError::New(env, e.what());
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "out of memory");
  }
}

uint64_t XorShift64(uint64_t x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

uint64_t Rol(uint64_t x, unsigned n) { return (x << n) | (x >> (64 - n)); }

// A number argument as an unsigned 64-bit value (gpa, length, count); JS has checked its range.
uint64_t U64Arg(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<uint64_t>(info[i].As<Napi::Number>().Int64Value());
}

// The (gpa, qwords, seed: bigint) arguments of fillPattern and checkPattern.
struct PatternArgs {
  uint64_t gpa;
  uint64_t qwords;
  uint64_t seed;
};

PatternArgs PatternArgsOf(const Napi::CallbackInfo& info) {
  bool lossless = false;
  return {U64Arg(info, 0), U64Arg(info, 1), info[2].As<Napi::BigInt>().Uint64Value(&lossless)};
}

Napi::Object CpuidEntriesToJs(Napi::Env env, const std::vector<kvm_cpuid_entry2>& entries) {
  Napi::Array out = Napi::Array::New(env, entries.size());
  for (size_t i = 0; i < entries.size(); i++) {
    const kvm_cpuid_entry2& e = entries[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("function", e.function);
    o.Set("index", e.index);
    o.Set("eax", e.eax);
    o.Set("ebx", e.ebx);
    o.Set("ecx", e.ecx);
    o.Set("edx", e.edx);
    out.Set(i, o);
  }
  return out;
}

class ProbeVm;

// Runs a set of vCPUs off the event loop; resolves with their outcomes and bus logs.
class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Object vm_object, ProbeVm* vm, std::vector<Vcpu*> vcpus, uint64_t timeout_ns);
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    outcomes_ = RunVcpus(vcpus_, *bus_, timeout_ns_, &start_ns_);
    wall_ns_ = MonotonicNs() - start_ns_;
  }
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference vm_ref_;  // keeps the VM alive while its vCPUs run
  ProbeVm* vm_;
  ProbeBus* bus_;
  std::vector<Vcpu*> vcpus_;
  uint64_t timeout_ns_;
  uint64_t start_ns_ = 0;
  uint64_t wall_ns_ = 0;
  std::vector<VcpuOutcome> outcomes_;
};

class ProbeVm : public Napi::ObjectWrap<ProbeVm> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ProbeVm",
                       {
                           InstanceMethod<&ProbeVm::CreateVcpus>("createVcpus"),
                           InstanceMethod<&ProbeVm::Write>("write"),
                           InstanceMethod<&ProbeVm::Read>("read"),
                           InstanceMethod<&ProbeVm::FillPattern>("fillPattern"),
                           InstanceMethod<&ProbeVm::CheckPattern>("checkPattern"),
                           InstanceMethod<&ProbeVm::Run>("run"),
                           InstanceMethod<&ProbeVm::Close>("close"),
                       });
  }

  // new ProbeVm({device, memSize, backing, hugetlbfsDir}): open, create the VM, map its RAM.
  explicit ProbeVm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProbeVm>(info) {
    Napi::Env env = info.Env();
    Napi::Object opts = info[0].As<Napi::Object>();
    std::string device = opts.Get("device").As<Napi::String>();
    size_t mem_size = static_cast<size_t>(opts.Get("memSize").As<Napi::Number>().Int64Value());
    std::string backing_name = opts.Get("backing").As<Napi::String>();
    std::string hugetlbfs_dir = opts.Has("hugetlbfsDir") && opts.Get("hugetlbfsDir").IsString()
                                    ? opts.Get("hugetlbfsDir").As<Napi::String>().Utf8Value()
                                    : std::string();
    Backing backing = backing_name == "hugetlb"     ? Backing::kHugetlb
                      : backing_name == "hugetlbfs" ? Backing::kHugetlbfs
                                                    : Backing::kAnonymous;

    Guarded(env, [&] {
      uint64_t t0 = MonotonicNs();
      kvm_ = std::make_unique<KvmSystem>(device);
      uint64_t t1 = MonotonicNs();
      vm_ = std::make_unique<Vm>(*kvm_);
      uint64_t t2 = MonotonicNs();
      vm_->SetMemory(std::make_unique<GuestMemory>(mem_size, backing, hugetlbfs_dir));
      uint64_t t3 = MonotonicNs();
      Napi::Object timings = Napi::Object::New(env);
      timings.Set("openNs", double(t1 - t0));
      timings.Set("createVmNs", double(t2 - t1));
      timings.Set("memoryNs", double(t3 - t2));
      info.This().As<Napi::Object>().Set("timings", timings);
      info.This().As<Napi::Object>().Set("apiVersion", kvm_->api_version());
    });
  }

  ProbeBus* bus() { return bus_.get(); }
  void SetRunning(bool on) { running_ = on; }

 private:
  void RequireOpen(Napi::Env env) {
    if (!vm_) throw Napi::Error::New(env, "the VM is closed");
    if (running_) throw Napi::Error::New(env, "the VM is running; wait for run() to settle");
  }

  // Guest RAM at gpa as qwords 64-bit words; out_of_range when the span leaves RAM.
  uint64_t* Qwords(uint64_t gpa, uint64_t qwords) {
    return reinterpret_cast<uint64_t*>(vm_->memory().At(gpa, qwords * 8));
  }

  // createVcpus(count, entry): vCPUs with KVM's supported CPUID, in real mode at entry.
  Napi::Value CreateVcpus(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    if (!vcpus_.empty()) throw Napi::Error::New(env, "the vCPUs are already created");
    int count = info[0].As<Napi::Number>().Int32Value();
    uint64_t entry = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
    return Guarded(env, [&] {
      uint64_t t0 = MonotonicNs();
      std::vector<kvm_cpuid_entry2> cpuid = kvm_->SupportedCpuid();
      for (int i = 0; i < count; i++) {
        auto vcpu = std::make_unique<Vcpu>(*kvm_, *vm_, i);
        vcpu->SetCpuid(cpuid);
        vcpu->ResetToRealMode(entry);
        vcpus_.push_back(std::move(vcpu));
      }
      bus_ = std::make_unique<ProbeBus>(count);
      Napi::Object out = Napi::Object::New(env);
      out.Set("vcpusNs", double(MonotonicNs() - t0));
      out.Set("cpuid", CpuidEntriesToJs(env, cpuid));
      return out;
    });
  }

  // write(gpa, bytes)
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    uint64_t gpa = U64Arg(info, 0);
    Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
    Guarded(env, [&] { std::memcpy(vm_->memory().At(gpa, bytes.ByteLength()), bytes.Data(), bytes.ByteLength()); });
    return env.Undefined();
  }

  // read(gpa, length) -> Buffer (a copy)
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    uint64_t gpa = U64Arg(info, 0);
    size_t len = static_cast<size_t>(U64Arg(info, 1));
    return Guarded(env, [&] { return Napi::Buffer<uint8_t>::Copy(env, vm_->memory().At(gpa, len), len); });
  }

  // fillPattern(gpa, qwords, seed: bigint): the xorshift64 sequence the probe verifies.
  Napi::Value FillPattern(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    PatternArgs args = PatternArgsOf(info);
    uint64_t x = args.seed;
    Guarded(env, [&] {
      uint64_t* p = Qwords(args.gpa, args.qwords);
      for (uint64_t i = 0; i < args.qwords; i++) p[i] = x = XorShift64(x);
    });
    return env.Undefined();
  }

  // checkPattern(gpa, qwords, seed: bigint) -> {bad, firstBad}: the guest's rol(~x, 7) transform.
  Napi::Value CheckPattern(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    PatternArgs args = PatternArgsOf(info);
    uint64_t x = args.seed;
    return Guarded(env, [&] {
      const uint64_t* p = Qwords(args.gpa, args.qwords);
      double bad = 0, first_bad = -1;
      for (uint64_t i = 0; i < args.qwords; i++) {
        x = XorShift64(x);
        if (p[i] != Rol(~x, 7)) {
          if (bad++ == 0) first_bad = double(i);
        }
      }
      Napi::Object out = Napi::Object::New(env);
      out.Set("bad", bad);
      out.Set("firstBad", first_bad);
      return out;
    });
  }

  // run({vcpus: number[], timeoutMs}) -> Promise<RunResult>
  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    Napi::Object opts = info[0].As<Napi::Object>();
    Napi::Array which = opts.Get("vcpus").As<Napi::Array>();
    double timeout_ms = opts.Get("timeoutMs").As<Napi::Number>().DoubleValue();
    std::vector<Vcpu*> selected;
    for (uint32_t i = 0; i < which.Length(); i++) {
      int index = which.Get(i).As<Napi::Number>().Int32Value();
      if (index < 0 || size_t(index) >= vcpus_.size()) throw Napi::RangeError::New(env, "no such vCPU");
      selected.push_back(vcpus_[index].get());
    }
    if (selected.empty()) throw Napi::RangeError::New(env, "run() needs at least one vCPU");
    auto* worker = new RunWorker(info.This().As<Napi::Object>(), this, selected, uint64_t(timeout_ms * 1e6));
    running_ = true;
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  // close(): tears everything down in reverse order; returns the ns it took.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (running_) throw Napi::Error::New(env, "the VM is running; wait for run() to settle");
    uint64_t t0 = MonotonicNs();
    vcpus_.clear();
    vm_.reset();
    kvm_.reset();
    return Napi::Number::New(env, double(MonotonicNs() - t0));
  }

  std::unique_ptr<KvmSystem> kvm_;
  std::unique_ptr<Vm> vm_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::unique_ptr<ProbeBus> bus_;
  bool running_ = false;
};

RunWorker::RunWorker(Napi::Object vm_object, ProbeVm* vm, std::vector<Vcpu*> vcpus, uint64_t timeout_ns)
    : Napi::AsyncWorker(vm_object.Env(), "kvmctl.run"),
      deferred_(Napi::Promise::Deferred::New(vm_object.Env())),
      vm_ref_(Napi::Persistent(vm_object)),
      vm_(vm),
      bus_(vm->bus()),
      vcpus_(std::move(vcpus)),
      timeout_ns_(timeout_ns) {}

void RunWorker::OnError(const Napi::Error& e) {
  vm_->SetRunning(false);
  deferred_.Reject(e.Value());
}

void RunWorker::OnOK() {
  Napi::Env env = Env();
  vm_->SetRunning(false);
  for (const VcpuOutcome& o : outcomes_) {
    if (o.failed) {
      deferred_.Reject(o.syscall.empty() ? Napi::Error::New(env, o.message).Value()
                                         : SyscallError(env, o.syscall, o.err).Value());
      return;
    }
  }
  static const char* kKinds[] = {"mark", "report", "io", "mmio"};
  Napi::Array vcpus = Napi::Array::New(env, outcomes_.size());
  for (size_t i = 0; i < outcomes_.size(); i++) {
    const VcpuOutcome& o = outcomes_[i];
    const VcpuBusLog& log = bus_->log(o.index);
    Napi::Object v = Napi::Object::New(env);
    v.Set("index", o.index);
    v.Set("exit", o.timed_out ? "timeout" : o.yielded ? "yield" : ExitKindName(o.exit.kind));
    v.Set("exitReason", o.exit.reason);
    v.Set("exitDetail", double(o.exit.detail));
    v.Set("exits", double(o.exits));
    v.Set("firstExitNs", double(o.first_exit_ns));
    v.Set("endNs", double(o.end_ns));
    Napi::Array events = Napi::Array::New(env, log.events.size());
    for (size_t j = 0; j < log.events.size(); j++) {
      const BusEvent& ev = log.events[j];
      Napi::Object e = Napi::Object::New(env);
      e.Set("t", double(ev.t_ns));
      e.Set("kind", kKinds[static_cast<int>(ev.kind)]);
      e.Set("address", double(ev.address));
      e.Set("value", double(ev.value));
      e.Set("size", ev.size);
      e.Set("count", ev.count);
      e.Set("write", ev.write);
      events.Set(j, e);
    }
    v.Set("events", events);
    Napi::Object count = Napi::Object::New(env);
    count.Set("exits", double(log.count_exits));
    count.Set("firstNs", double(log.count_first_ns));
    count.Set("lastNs", double(log.count_last_ns));
    v.Set("countPort", count);
    v.Set("stringOut", Napi::Buffer<char>::Copy(env, log.string_out.data(), log.string_out.size()));
    vcpus.Set(i, v);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("wallNs", double(wall_ns_));
  result.Set("vcpus", vcpus);
  deferred_.Resolve(result);
}

Napi::Value CreateVm(const Napi::CallbackInfo& info) {
  Napi::FunctionReference* ctor = info.Env().GetInstanceData<Napi::FunctionReference>();
  return ctor->New({info[0]});
}

// The numbers of probe_abi.h, so TS never restates them.
Napi::Object ProbeAbi(Napi::Env env) {
  Napi::Object abi = Napi::Object::New(env);
#define ABI(name) abi.Set(#name, double(name))
  ABI(PROBE_PARAMS_ADDR); ABI(PROBE_LOAD_ADDR); ABI(PROBE_STACKS_ADDR); ABI(PROBE_STACK_SIZE);
  ABI(PROBE_MAX_VCPUS); ABI(PROBE_PATTERN_ADDR); ABI(PROBE_MIN_MEM); ABI(PROBE_MAX_MEM); ABI(PROBE_MMIO_ADDR);
  ABI(PARAM_MAGIC); ABI(PARAM_VCPUS); ABI(PARAM_VARIANT); ABI(PARAM_CPL0_ITERS); ABI(PARAM_CPL3_ITERS);
  ABI(PARAM_PIO_ITERS); ABI(PARAM_SMP_ADDS); ABI(PARAM_COUNTER); ABI(PARAM_SEED); ABI(PARAM_PATTERN_QWORDS);
  ABI(PROBE_PARAMS_SIZE); ABI(PROBE_MAGIC);
  ABI(PROBE_VARIANT_PROBE); ABI(PROBE_VARIANT_TRIPLE_FAULT); ABI(PROBE_VARIANT_SPIN_CPL0);
  ABI(PROBE_VARIANT_SPIN_CPL3);
  ABI(PROBE_PORT_MARK); ABI(PROBE_PORT_KEY); ABI(PROBE_PORT_VALUE); ABI(PROBE_PORT_COUNT); ABI(PROBE_PORT_ECHO);
  ABI(PROBE_PORT_STRING); ABI(PROBE_PORT_YIELD);
  ABI(MARK_REAL); ABI(MARK_PROTECTED); ABI(MARK_LONG); ABI(MARK_USER_ENTER);
  ABI(MARK_LOOP0_BEGIN); ABI(MARK_LOOP0_END); ABI(MARK_LOOP3_BEGIN); ABI(MARK_LOOP3_END); ABI(MARK_PIO_BEGIN);
  ABI(MARK_PIO_END); ABI(MARK_DONE);
  ABI(REPORT_INDEX); ABI(REPORT_ECHO1); ABI(REPORT_ECHO2); ABI(REPORT_ECHO4); ABI(REPORT_STRING_MATCH);
  ABI(REPORT_MMIO_READ); ABI(REPORT_CPUID0_EAX); ABI(REPORT_CPUID0_EBX); ABI(REPORT_CPUID0_ECX);
  ABI(REPORT_CPUID0_EDX); ABI(REPORT_CPUID1_ECX); ABI(REPORT_CPUID_EXT_MAX); ABI(REPORT_CPUID_EXT1_ECX);
  ABI(REPORT_CPUID_HV_EAX); ABI(REPORT_CPUID_HV_EBX); ABI(REPORT_CPUID_HV_ECX); ABI(REPORT_CPUID_HV_EDX);
  ABI(REPORT_MEM_BAD); ABI(REPORT_MEM_FIRST_BAD); ABI(REPORT_MEM_CHECKED); ABI(REPORT_SMP_INDEX);
#undef ABI
  return abi;
}

}  // namespace

void InitProbeVm(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = ProbeVm::Define(env);
  env.SetInstanceData(new Napi::FunctionReference(Napi::Persistent(ctor)));
  exports.Set("createVm", Napi::Function::New(env, CreateVm, "createVm"));
  exports.Set("probeAbi", ProbeAbi(env));
}

}  // namespace kvmctl
