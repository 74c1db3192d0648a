/* The contract between the probe guest (probe.S), the VMM (native/) and bench/probe-ref.c:
 * where things sit in guest memory, which ports mean what, and the codes sent through them.
 * Plain #defines so GNU as (through cpp), C and C++ all read the same numbers. */
#ifndef KVMCTL_PROBE_ABI_H
#define KVMCTL_PROBE_ABI_H

/* Guest physical layout. The image runs where it is loaded: CS=0, IP=PROBE_LOAD_ADDR. */
#define PROBE_PARAMS_ADDR 0x800      /* struct probe_params, written by the host */
#define PROBE_LOAD_ADDR 0x1000       /* the flat binary from objcopy */
#define PROBE_STACKS_ADDR 0x100000   /* PROBE_STACK_SIZE per vCPU: kernel half on top, user below */
#define PROBE_STACK_SHIFT 14
#define PROBE_STACK_SIZE (1 << PROBE_STACK_SHIFT)
#define PROBE_MAX_VCPUS 64
#define PROBE_PATTERN_ADDR 0x200000  /* memory-integrity pattern from here to the end of RAM */
#define PROBE_MIN_MEM 0x400000
#define PROBE_MMIO_ADDR 0xd0000000   /* no memory slot here: accesses exit as KVM_EXIT_MMIO */
#define PROBE_MAX_MEM 0xc0000000     /* RAM must stay below the MMIO window */

/* Field offsets of struct probe_params (from PROBE_PARAMS_ADDR). */
#define PARAM_MAGIC 0x00          /* u32 PROBE_MAGIC */
#define PARAM_VCPUS 0x04          /* u32 number of vCPUs started */
#define PARAM_VARIANT 0x08        /* u32 PROBE_VARIANT_* */
#define PARAM_CPL0_ITERS 0x0c     /* u32 iterations of the fixed loop at CPL0 */
#define PARAM_CPL3_ITERS 0x10     /* u32 iterations of the same loop at CPL3 */
#define PARAM_PIO_ITERS 0x14      /* u32 OUTs to PROBE_PORT_COUNT */
#define PARAM_SMP_ADDS 0x18       /* u32 locked adds per vCPU */
#define PARAM_COUNTER 0x1c        /* u32 the shared counter the vCPUs lock-add to */
#define PARAM_SEED 0x20           /* u64 xorshift64 seed of the memory pattern (non-zero) */
#define PARAM_PATTERN_QWORDS 0x28 /* u64 pattern length from PROBE_PATTERN_ADDR */
#define PROBE_PARAMS_SIZE 0x30
#define PROBE_MAGIC 0x504d564b    /* "KVMP" */

#define PROBE_VARIANT_PROBE 0        /* the stages */
#define PROBE_VARIANT_TRIPLE_FAULT 1 /* long mode, empty IDT, ud2: KVM_EXIT_SHUTDOWN */
#define PROBE_VARIANT_SPIN_CPL0 2    /* long mode, jmp . at CPL0: only the watchdog ends it */
#define PROBE_VARIANT_SPIN_CPL3 3    /* the same loop in user mode */

/* Ports. Every OUT/IN below is one exit handled by the VMM's bus. */
#define PROBE_PORT_MARK 0x400   /* out32: a MARK_* code, timestamped by the host */
#define PROBE_PORT_KEY 0x404    /* out32: the key of the next report */
#define PROBE_PORT_VALUE 0x408  /* out32: the value; logs (key, value) */
#define PROBE_PORT_COUNT 0x40c  /* out8: only counted (the exit-cost loop) */
#define PROBE_PORT_ECHO 0x410   /* out 1/2/4 latches a value; in of the same size returns ~value */
#define PROBE_PORT_STRING 0x414 /* outsb appends to a buffer; insb reads it back reversed */
#define PROBE_PORT_YIELD 0x418  /* out8: ends the segment like HLT does (user mode cannot HLT) */
#define PROBE_STRING_MAX 64

/* MMIO at PROBE_MMIO_ADDR: a write latches the value; a read returns ~latch. */

/* Marks: one segment of the probe runs between two HLTs. */
#define MARK_REAL 0x01
#define MARK_PROTECTED 0x02
#define MARK_LONG 0x03
#define MARK_USER_ENTER 0x08
#define MARK_LOOP0_BEGIN 0x10
#define MARK_LOOP0_END 0x11
#define MARK_LOOP3_BEGIN 0x12
#define MARK_LOOP3_END 0x13
#define MARK_PIO_BEGIN 0x14
#define MARK_PIO_END 0x15
#define MARK_DONE 0xff

/* Report keys (values are 32 bits). */
#define REPORT_INDEX 0x01
#define REPORT_ECHO1 0x10
#define REPORT_ECHO2 0x11
#define REPORT_ECHO4 0x12
#define REPORT_STRING_MATCH 0x13
#define REPORT_MMIO_READ 0x20
#define REPORT_CPUID0_EAX 0x30
#define REPORT_CPUID0_EBX 0x31
#define REPORT_CPUID0_ECX 0x32
#define REPORT_CPUID0_EDX 0x33
#define REPORT_CPUID1_ECX 0x34
#define REPORT_CPUID_EXT_MAX 0x35
#define REPORT_CPUID_EXT1_ECX 0x36
#define REPORT_CPUID_HV_EAX 0x37
#define REPORT_CPUID_HV_EBX 0x38
#define REPORT_CPUID_HV_ECX 0x39
#define REPORT_CPUID_HV_EDX 0x3a
#define REPORT_MEM_BAD 0x40
#define REPORT_MEM_FIRST_BAD 0x41
#define REPORT_MEM_CHECKED 0x42
#define REPORT_SMP_INDEX 0x50


#endif
