/*
 * Every way into the kernel: one entry stub per IDT vector, and the SYSCALL entry. Each builds the
 * same frame (Arch/X64/InterruptFrame.cs): the CPU's iret frame, error code and vector, every
 * general register, and below it the FPU/SSE/AVX state (XSAVE or FXSAVE, 64-byte aligned). A thread entering from
 * ring 3 lands at the top of its own kernel stack (TSS.RSP0), so its user context always sits at
 * the same place there and one exit path (libra_interrupt_exit) returns to it with IRETQ.
 */
        .text

/* The rest of the frame: every general register (r15 lowest), then the FPU/SSE/AVX state below it
   (XSAVE of x87|SSE|AVX when the kernel enabled it, else FXSAVE; 1 KiB, 64-byte aligned). Leaves
   rdi = rbx = the frame and rsp = the state area, as libra_interrupt_exit expects. */
.macro SAVE_CONTEXT
        pushq   %rax
        pushq   %rbx
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %rbp
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, %rdi
        movq    %rsp, %rbx
        subq    $1024, %rsp
        andq    $~63, %rsp
        cmpb    $0, libra_use_xsave(%rip)
        je      1f
        /* XSAVE writes only XSTATE_BV of the header; XRSTOR faults on a dirty rest. */
        movq    $0, 512(%rsp)
        movq    $0, 520(%rsp)
        movq    $0, 528(%rsp)
        movq    $0, 536(%rsp)
        movq    $0, 544(%rsp)
        movq    $0, 552(%rsp)
        movq    $0, 560(%rsp)
        movq    $0, 568(%rsp)
        movl    $7, %eax
        xorl    %edx, %edx
        xsave64 (%rsp)
        jmp     2f
1:      fxsave64 (%rsp)
2:      cld
.endm

.macro STUB vector
        .balign 16
stub_\vector:
        .if (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
        .else
        pushq   $0
        .endif
        pushq   $\vector
        jmp     interrupt_common
.endm

.altmacro
.macro STUBS from, to
        STUB \from
        .if \to-\from
        STUBS %(\from+1), \to
        .endif
.endm
        STUBS 0, 63
        STUBS 64, 127
        STUBS 128, 191
        STUBS 192, 255

interrupt_common:
        SAVE_CONTEXT
        call    libra_interrupt
        /* rbx = the frame, rsp = its FXSAVE area; a new thread starts here (Threads/Scheduler.cs). */
        .globl libra_interrupt_exit
libra_interrupt_exit:
        cmpb    $0, libra_use_xsave(%rip)
        je      1f
        movl    $7, %eax
        xorl    %edx, %edx
        xrstor64 (%rsp)
        jmp     2f
1:      fxrstor64 (%rsp)
2:
        movq    %rbx, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rbp
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rbx
        popq    %rax
        addq    $16, %rsp               /* vector and error code */
        iretq

/*
 * SYSCALL from ring 3 (Intel SDM vol. 2B): RCX = user RIP, R11 = user RFLAGS, IF already clear
 * (SFMASK), RSP still the user's. One CPU: the user RSP waits in a scratch slot while we move to
 * the current thread's kernel stack, then the frame is built as if an interrupt had arrived.
 */
        .globl libra_syscall_entry
libra_syscall_entry:
        movq    %rsp, libra_user_rsp(%rip)
        movq    libra_kernel_rsp(%rip), %rsp
        pushq   $0x1b                   /* user SS (Arch/X64/Gdt.cs) */
        pushq   libra_user_rsp(%rip)
        pushq   %r11
        pushq   $0x23                   /* user CS */
        pushq   %rcx
        pushq   $0                      /* error code */
        pushq   $0x100                  /* vector: InterruptFrame.SyscallVector */
        SAVE_CONTEXT
        call    libra_syscall
        jmp     libra_interrupt_exit

/*
 * libra_switch(ulong* saveRsp, ulong newRsp): the kernel's context switch. Saves the callee-saved
 * registers on this stack, stores RSP in *saveRsp, and resumes the stack at newRsp the same way.
 */
        .globl libra_switch
libra_switch:
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        ret

        .data
        .globl libra_use_xsave
libra_use_xsave:        .byte 0         /* set by Boot/entry.S when CR4.OSXSAVE is on */

        .bss
        .balign 8
        .globl libra_kernel_rsp
libra_kernel_rsp:       .quad 0         /* top of the current thread's kernel stack */
libra_user_rsp:         .quad 0

        .section .rodata
        .balign 8
        .globl libra_interrupt_stubs
libra_interrupt_stubs:
.macro STUBADDR vector
        .quad   stub_\vector
.endm
.macro STUBADDRS from, to
        STUBADDR \from
        .if \to-\from
        STUBADDRS %(\from+1), \to
        .endif
.endm
        STUBADDRS 0, 63
        STUBADDRS 64, 127
        STUBADDRS 128, 191
        STUBADDRS 192, 255

        .text
        .globl libra_interrupt_stub_table
libra_interrupt_stub_table:
        leaq    libra_interrupt_stubs(%rip), %rax
        ret

        .globl libra_kernel_rsp_slot
libra_kernel_rsp_slot:
        leaq    libra_kernel_rsp(%rip), %rax
        ret

        .globl libra_entry_points
libra_entry_points:                     /* (ulong* out): syscall entry, interrupt exit */
        leaq    libra_syscall_entry(%rip), %rax
        movq    %rax, 0(%rdi)
        leaq    libra_interrupt_exit(%rip), %rax
        movq    %rax, 8(%rdi)
        ret
