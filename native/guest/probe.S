/* The probe guest: real mode -> protected mode -> long mode with paging, then the selftest's
 * stages. It reports only through ports (probe_abi.h) and stops at the end of each segment (HLT
 * in supervisor mode, an OUT to the YIELD port in user mode), so the VMM can judge one stage at a
 * time and resume the guest with the next KVM_RUN:
 *   vCPU 0:  ladder | PIO | MMIO | CPL0 loop || memory | CPUID | SMP | CPL3 loop, PIO exits, DONE
 *   others:  ladder, SMP and DONE in one segment (they are only started for SMP)
 * From || on the guest stays in user mode (CPL3, IOPL 3), entered once with sysret: heavy loops
 * stay fast where supervisor code is emulated (PVM), and no way back is needed (PVM's syscall
 * path serves its own paravirtual kernels, not a plain guest's LSTAR).
 * Built by native/guest/build.sh: cpp, as, ld -Ttext PROBE_LOAD_ADDR, objcopy -O binary. */
#include "probe_abi.h"

/* Linux's x86-64 GDT layout: PVM assumes its user selectors (CS 0x33, SS 0x2b). */
#define SEL_CODE32 0x08
#define SEL_KCODE64 0x10
#define SEL_KDATA 0x18
#define SEL_SYSRET_BASE 0x20   /* sysret: SS = base+8, CS = base+16, both RPL 3 */
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define RFLAGS_USER 0x3002     /* IOPL 3 so user mode may use the probe's ports; IF clear */
#define PARAM(field) (PROBE_PARAMS_ADDR + field)

/* out32 of a mark code; clobbers eax, edx */
.macro MARK code
        movl $\code, %eax
        movw $PROBE_PORT_MARK, %dx
        outl %eax, %dx
.endm

/* report (key, value); value is any 32-bit operand but eax/edx; clobbers eax, edx */
.macro REPORT key, value
        movl $\key, %eax
        movw $PROBE_PORT_KEY, %dx
        outl %eax, %dx
        movl \value, %eax
        movw $PROBE_PORT_VALUE, %dx
        outl %eax, %dx
.endm

/* end of a segment in user mode; clobbers edx */
.macro YIELD
        movw $PROBE_PORT_YIELD, %dx
        outb %al, %dx
.endm

/* a flat 4 GiB segment descriptor from its access byte and flags nibble */
.macro SEGMENT access, flags
        .quad 0xffff | (\access << 40) | (0xf << 48) | (\flags << 52)
.endm

        .text
        .code16
        .globl _start
_start:                         /* esi = vCPU index, set by the VMM */
        cli
        xorw %ax, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        MARK MARK_REAL
        lgdtl gdt_desc
        movl %cr0, %eax
        orl $1, %eax            /* CR0.PE */
        movl %eax, %cr0
        ljmpl $SEL_CODE32, $protected

        .code32
protected:
        movw $SEL_KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        MARK MARK_PROTECTED
        movl %cr4, %eax
        orl $0x20, %eax         /* CR4.PAE */
        movl %eax, %cr4
        movl $pml4, %eax
        movl %eax, %cr3
        movl $MSR_EFER, %ecx
        rdmsr
        orl $0x101, %eax        /* EFER.LME, and EFER.SCE for sysret */
        wrmsr
        movl %cr0, %eax
        orl $0x80000000, %eax   /* CR0.PG */
        movl %eax, %cr0
        ljmp $SEL_KCODE64, $long_mode

        .code64
long_mode:
        movw $SEL_KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movl %esi, %r14d        /* the index lives in r14 from here on */
        leal 1(%esi), %eax
        shll $PROBE_STACK_SHIFT, %eax
        addl $PROBE_STACKS_ADDR, %eax
        movq %rax, %rsp
        movl $MSR_STAR, %ecx    /* sysret takes the user selectors from STAR */
        xorl %eax, %eax
        movl $((SEL_SYSRET_BASE << 16) | SEL_KCODE64), %edx
        wrmsr
        MARK MARK_LONG

        movl PARAM(PARAM_VARIANT), %eax
        cmpl $PROBE_VARIANT_TRIPLE_FAULT, %eax
        je triple_fault
        cmpl $PROBE_VARIANT_SPIN_CPL0, %eax
        je spin_cpl0
        cmpl $PROBE_VARIANT_SPIN_CPL3, %eax
        je spin_cpl3
        testl %r14d, %r14d
        jnz secondary

        hlt                     /* end of the ladder segment */
        call pio_stage
        hlt
        call mmio_stage
        hlt
        call cpl0_loop
        hlt
        leaq main_user(%rip), %rdi
        jmp enter_user
main_user:
        call memory_user
        YIELD
        call cpuid_user
        YIELD
        call smp_user
        YIELD
        call costs_user
        jmp done_user

secondary:
        leaq secondary_user(%rip), %rdi
        jmp enter_user
secondary_user:
        call smp_user
done_user:
        MARK MARK_DONE
1:      YIELD
        jmp 1b

/* enter_user(rdi = code): goes on at code in user mode, for good */
enter_user:
        leaq -(PROBE_STACK_SIZE / 2)(%rsp), %rsp
        andq $-16, %rsp
        movq %rdi, %rcx
        movq $RFLAGS_USER, %r11
        MARK MARK_USER_ENTER
        sysretq

/* ---- b: PIO round trips of 1, 2 and 4 bytes, then string I/O ---- */
pio_stage:
        MARK MARK_PIO_BEGIN
        movw $PROBE_PORT_ECHO, %dx
        movb $0x5a, %al
        outb %al, %dx
        inb %dx, %al
        movzbl %al, %ebx
        movw $0x1234, %ax
        outw %ax, %dx
        inw %dx, %ax
        movzwl %ax, %ecx
        movl $0xdeadbeef, %eax
        outl %eax, %dx
        inl %dx, %eax
        movl %eax, %r8d
        REPORT REPORT_ECHO1, %ebx
        REPORT REPORT_ECHO2, %ecx
        REPORT REPORT_ECHO4, %r8d
        cld
        leaq string_out(%rip), %rsi
        movl $(string_out_end - string_out), %ecx
        movw $PROBE_PORT_STRING, %dx
        rep outsb
        leaq string_in(%rip), %rdi
        movl $(string_out_end - string_out), %ecx
        rep insb
        /* count the bytes that came back reversed */
        xorl %ebx, %ebx
        xorl %ecx, %ecx
        leaq string_out(%rip), %rsi
        leaq string_in(%rip), %r8
1:      movl $(string_out_end - string_out - 1), %edi
        subl %ecx, %edi
        movb (%rsi,%rdi), %al
        cmpb %al, (%r8,%rcx)
        jne 2f
        incl %ebx
2:      incl %ecx
        cmpl $(string_out_end - string_out), %ecx
        jne 1b
        REPORT REPORT_STRING_MATCH, %ebx
        MARK MARK_PIO_END
        ret

/* ---- c: a write and a read where no memory slot is ---- */
mmio_stage:
        movl $PROBE_MMIO_ADDR, %ebx
        movl $0xcafef00d, (%rbx)
        movl 4(%rbx), %ecx
        REPORT REPORT_MMIO_READ, %ecx
        ret

/* ---- h, first half: the fixed loop in supervisor mode ---- */
cpl0_loop:
        MARK MARK_LOOP0_BEGIN
        movl PARAM(PARAM_CPL0_ITERS), %ecx
        call fixed_loop
        MARK MARK_LOOP0_END
        ret

/* ---- d: verify the host's xorshift64 pattern, write back rol(~x, 7) ---- */
memory_user:
        movq PARAM(PARAM_SEED), %rax
        movq PARAM(PARAM_PATTERN_QWORDS), %rcx
        movl $PROBE_PATTERN_ADDR, %edi
        xorl %r8d, %r8d         /* mismatches */
        movl $-1, %r9d          /* first bad index */
        xorl %r10d, %r10d       /* index */
        testq %rcx, %rcx
        jz 3f
1:      movq %rax, %rdx
        shlq $13, %rdx
        xorq %rdx, %rax
        movq %rax, %rdx
        shrq $7, %rdx
        xorq %rdx, %rax
        movq %rax, %rdx
        shlq $17, %rdx
        xorq %rdx, %rax
        cmpq (%rdi), %rax
        je 2f
        incl %r8d
        cmpl $-1, %r9d
        cmovel %r10d, %r9d
2:      movq %rax, %rdx
        notq %rdx
        rolq $7, %rdx
        movq %rdx, (%rdi)
        addq $8, %rdi
        incl %r10d
        decq %rcx
        jnz 1b
3:      REPORT REPORT_MEM_CHECKED, %r10d
        REPORT REPORT_MEM_BAD, %r8d
        REPORT REPORT_MEM_FIRST_BAD, %r9d
        ret

/* ---- e: CPUID as this guest sees it (from user mode: a hypervisor intercepts it there too) ---- */
cpuid_user:
        xorl %eax, %eax
        cpuid
        movl %eax, %r8d
        movl %ebx, %r9d
        movl %ecx, %r10d
        movl %edx, %r11d
        REPORT REPORT_CPUID0_EAX, %r8d
        REPORT REPORT_CPUID0_EBX, %r9d
        REPORT REPORT_CPUID0_ECX, %r10d
        REPORT REPORT_CPUID0_EDX, %r11d
        movl $1, %eax
        xorl %ecx, %ecx
        cpuid
        REPORT REPORT_CPUID1_ECX, %ecx
        movl $0x80000000, %eax
        cpuid
        movl %eax, %r8d
        REPORT REPORT_CPUID_EXT_MAX, %r8d
        movl $0x80000001, %eax
        xorl %ecx, %ecx
        cpuid
        REPORT REPORT_CPUID_EXT1_ECX, %ecx
        movl $0x40000000, %eax
        xorl %ecx, %ecx
        cpuid
        movl %eax, %r8d
        movl %ebx, %r9d
        movl %ecx, %r10d
        movl %edx, %r11d
        REPORT REPORT_CPUID_HV_EAX, %r8d
        REPORT REPORT_CPUID_HV_EBX, %r9d
        REPORT REPORT_CPUID_HV_ECX, %r10d
        REPORT REPORT_CPUID_HV_EDX, %r11d
        ret

/* ---- f: every vCPU reports its index and lock-adds to the shared counter ---- */
smp_user:
        REPORT REPORT_SMP_INDEX, %r14d
        movl PARAM(PARAM_SMP_ADDS), %ecx
        testl %ecx, %ecx
        jz 2f
1:      lock addl $1, PARAM(PARAM_COUNTER)
        decl %ecx
        jnz 1b
2:      ret

/* ---- h, second half: the same loop in user mode, then PIO exits back to back ---- */
costs_user:
        MARK MARK_LOOP3_BEGIN
        movl PARAM(PARAM_CPL3_ITERS), %ecx
        call fixed_loop
        MARK MARK_LOOP3_END
        movl PARAM(PARAM_PIO_ITERS), %ecx
        movw $PROBE_PORT_COUNT, %dx
        testl %ecx, %ecx
        jz 2f
1:      outb %al, %dx
        decl %ecx
        jnz 1b
2:      ret

/* rcx iterations of a dependent add, 3 instructions each: the same code at CPL0 and CPL3 */
fixed_loop:
        xorl %eax, %eax
        testq %rcx, %rcx
        jz 2f
1:      addq %rcx, %rax
        decq %rcx
        jnz 1b
2:      ret

/* ---- fault variants for the VMM's tests ---- */
triple_fault:
        lidt empty_idt(%rip)
        ud2
spin_cpl0:
        jmp spin_cpl0
spin_cpl3:
        leaq spin_user(%rip), %rdi
        jmp enter_user
spin_user:
        jmp spin_user

/* ---- data ---- */
        .balign 8
gdt:
        .quad 0
        SEGMENT 0x9a, 0xc       /* 0x08 code, 32-bit */
        SEGMENT 0x9a, 0xa       /* 0x10 kernel code, 64-bit */
        SEGMENT 0x92, 0xc       /* 0x18 kernel data */
        SEGMENT 0xfa, 0xc       /* 0x20 user code, 32-bit (sysret base, unused) */
        SEGMENT 0xf2, 0xc       /* 0x28 user data */
        SEGMENT 0xfa, 0xa       /* 0x30 user code, 64-bit */
gdt_end:
gdt_desc:
        .word gdt_end - gdt - 1
        .long gdt
empty_idt:
        .word 0
        .quad 0
string_out:
        .ascii "kvmctl string io"
string_out_end:
string_in:
        .fill PROBE_STRING_MAX, 1, 0

/* Page tables: the low 4 GiB identity-mapped with 2 MiB user-accessible pages. */
        .balign 4096
pml4:
        .quad pdpt + 0x7
        .fill 511, 8, 0
pdpt:
        .quad pd + 0x7, pd + 0x1007, pd + 0x2007, pd + 0x3007
        .fill 508, 8, 0
pd:
        .set page, 0
        .rept 2048
        .quad (page << 21) | 0x87 /* present, writable, user, 2 MiB */
        .set page, page + 1
        .endr
