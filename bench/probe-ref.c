/* Reference for the built-in VMM's cost: the same work as one probe VM's life in kvmctl
 * (open /dev/kvm, create the VM, 8 MiB of RAM with the probe image, its parameters and the
 * memory pattern, one vCPU with KVM's CPUID, run the same probe binary through all its segments
 * to DONE, check the pattern, tear down), in plain C with no threads and no JS.
 * Usage: probe-ref PROBE.bin [RUNS] [--samples]. Prints JSON: the medians of the life and PIO exit
 * figures, or with --samples every run's figures. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../native/guest/probe_abi.h"

#define MEM_BYTES (8u << 20)
#define SEED 0x9e3779b97f4a7c15ull

static void die(const char *what) {
  fprintf(stderr, "probe-ref: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int xioctl(int fd, unsigned long req, void *arg, const char *what) {
  int r = ioctl(fd, req, arg);
  if (r < 0) die(what);
  return r;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift64(uint64_t x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

static uint64_t rol(uint64_t x, unsigned n) { return (x << n) | (x >> (64 - n)); }

struct figures {
  double life_ns;
  double pio_exit_ns;
};

/* One probe VM, open to teardown. */
static struct figures probe_life(const uint8_t *image, size_t image_len) {
  uint64_t t0 = now_ns();
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) die("open /dev/kvm");
  if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) die("KVM_GET_API_VERSION");
  int vm = xioctl(kvm, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
  if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0)
    xioctl(vm, KVM_SET_TSS_ADDR, (void *)0xfffbd000ul, "KVM_SET_TSS_ADDR");

  uint8_t *mem = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) die("mmap");
  struct kvm_userspace_memory_region region = {
      .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_BYTES, .userspace_addr = (uint64_t)(uintptr_t)mem};
  xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");

  memcpy(mem + PROBE_LOAD_ADDR, image, image_len);
  uint8_t *params = mem + PROBE_PARAMS_ADDR;
  uint64_t qwords = (MEM_BYTES - PROBE_PATTERN_ADDR) / 8;
  *(uint32_t *)(params + PARAM_MAGIC) = PROBE_MAGIC;
  *(uint32_t *)(params + PARAM_VCPUS) = 1;
  *(uint32_t *)(params + PARAM_VARIANT) = PROBE_VARIANT_PROBE;
  *(uint32_t *)(params + PARAM_CPL0_ITERS) = 5000;
  *(uint32_t *)(params + PARAM_CPL3_ITERS) = 1000000;
  *(uint32_t *)(params + PARAM_PIO_ITERS) = 500;
  *(uint32_t *)(params + PARAM_SMP_ADDS) = 10000;
  *(uint64_t *)(params + PARAM_SEED) = SEED;
  *(uint64_t *)(params + PARAM_PATTERN_QWORDS) = qwords;
  uint64_t *pattern = (uint64_t *)(mem + PROBE_PATTERN_ADDR);
  uint64_t x = SEED;
  for (uint64_t i = 0; i < qwords; i++) pattern[i] = x = xorshift64(x);

  int vcpu = xioctl(vm, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
  int run_size = xioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
  struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED) die("mmap kvm_run");
  for (unsigned n = 64;; n *= 2) {
    struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(struct kvm_cpuid_entry2));
    cpuid->nent = n;
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) == 0) {
      xioctl(vcpu, KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2");
      free(cpuid);
      break;
    }
    if (errno != E2BIG) die("KVM_GET_SUPPORTED_CPUID");
    free(cpuid);
  }
  struct kvm_sregs sregs;
  xioctl(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
  struct kvm_segment *segs[] = {&sregs.cs, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss};
  for (int i = 0; i < 6; i++) segs[i]->base = 0, segs[i]->selector = 0;
  xioctl(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
  struct kvm_regs regs = {.rip = PROBE_LOAD_ADDR, .rflags = 2, .rsi = 0};
  xioctl(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");

  /* The probe's ports, served as the addon's bus serves them. */
  uint32_t echo = 0, mmio_latch = 0;
  char string_buf[PROBE_STRING_MAX];
  size_t string_len = 0;
  uint64_t count = 0, count_first = 0, count_last = 0;
  int done = 0;
  for (;;) {
    xioctl(vcpu, KVM_RUN, 0, "KVM_RUN");
    if (run->exit_reason == KVM_EXIT_HLT) continue; /* a segment ended: go on, as the addon does */
    if (run->exit_reason == KVM_EXIT_MMIO) {
      if (run->mmio.is_write) memcpy(&mmio_latch, run->mmio.data, 4);
      else {
        uint32_t v = ~mmio_latch;
        memcpy(run->mmio.data, &v, 4);
      }
      continue;
    }
    if (run->exit_reason != KVM_EXIT_IO) {
      fprintf(stderr, "probe-ref: unexpected exit %u\n", run->exit_reason);
      exit(1);
    }
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    int out = run->io.direction == KVM_EXIT_IO_OUT;
    uint16_t port = run->io.port;
    unsigned size = run->io.size;
    if (port == PROBE_PORT_COUNT) {
      uint64_t t = now_ns();
      if (count++ == 0) count_first = t;
      count_last = t;
    } else if (port == PROBE_PORT_YIELD) {
      if (done) break;
    } else if (port == PROBE_PORT_MARK) {
      uint32_t code = 0;
      memcpy(&code, data, size);
      if (code == MARK_DONE) done = 1;
    } else if (port == PROBE_PORT_ECHO) {
      if (out) {
        echo = 0;
        memcpy(&echo, data, size);
      } else {
        uint32_t v = ~echo;
        memcpy(data, &v, size);
      }
    } else if (port == PROBE_PORT_STRING) {
      size_t bytes = (size_t)size * run->io.count;
      for (size_t i = 0; i < bytes; i++) {
        if (out && string_len < sizeof string_buf) string_buf[string_len++] = (char)data[i];
        else if (!out) data[i] = i < string_len ? (uint8_t)string_buf[string_len - 1 - i] : 0xff;
      }
    }
  }

  x = SEED;
  for (uint64_t i = 0; i < qwords; i++) {
    x = xorshift64(x);
    if (pattern[i] != rol(~x, 7)) {
      fprintf(stderr, "probe-ref: pattern word %llu not transformed\n", (unsigned long long)i);
      exit(1);
    }
  }
  munmap(run, (size_t)run_size);
  close(vcpu);
  munmap(mem, MEM_BYTES);
  close(vm);
  close(kvm);
  struct figures f = {(double)(now_ns() - t0), count > 1 ? (double)(count_last - count_first) / (double)(count - 1) : 0};
  return f;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: probe-ref PROBE.bin [RUNS]\n");
    return 2;
  }
  int runs = argc > 2 ? atoi(argv[2]) : 50;
  if (runs < 1) runs = 1;
  FILE *f = fopen(argv[1], "rb");
  if (!f) die(argv[1]);
  static uint8_t image[64 * 1024];
  size_t image_len = fread(image, 1, sizeof image, f);
  fclose(f);

  double *life = calloc((size_t)runs, sizeof *life), *pio = calloc((size_t)runs, sizeof *pio);
  for (int i = 0; i < runs; i++) {
    struct figures fig = probe_life(image, image_len);
    life[i] = fig.life_ns;
    pio[i] = fig.pio_exit_ns;
  }
  /* --samples: every run's figures too, so a caller can pool them with its own. */
  if (argc > 3 && strcmp(argv[3], "--samples") == 0) {
    printf("{\"runs\": %d, \"lifeNs\": [", runs);
    for (int i = 0; i < runs; i++) printf("%s%.0f", i ? ", " : "", life[i]);
    printf("], \"pioExitNs\": [");
    for (int i = 0; i < runs; i++) printf("%s%.0f", i ? ", " : "", pio[i]);
    printf("]}\n");
    return 0;
  }
  printf("{\"runs\": %d, \"lifeNsMedian\": %.0f, \"pioExitNsMedian\": %.0f}\n", runs, median(life, runs), median(pio, runs));
  return 0;
}
