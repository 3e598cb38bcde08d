/*
 * Every way into the kernel: one entry stub per IDT vector, and the SYSCALL entry. Each builds the
 * same frame (Arch/X64/InterruptFrame.cs): the CPU's iret frame, error code and vector, every
 * general register, and below it the FPU/SSE/AVX state area (64-byte aligned). A thread entering from
 * ring 3 lands at the top of its own kernel stack (TSS.RSP0), so its user context always sits at
 * the same place there. An interrupt saves the whole vector state (XSAVE or FXSAVE) and returns
 * with IRETQ (libra_interrupt_exit). A system call saves only XMM0-15, the only vector state the
 * kernel's code touches (Arch/X64/UserVectorState.cs), and returns with SYSRET when the frame
 * allows it (Arch/X64/SyscallReturn.cs).
 */
        .text

/* Every general register (r15 lowest), as InterruptFrame lays them out; leaves rdi = rbx = the frame. */
.macro SAVE_REGISTERS
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
.endm

/* Below the registers, the state area: 1 KiB, 64-byte aligned; rsp = the area. */
.macro RESERVE_STATE_AREA
        subq    $1024, %rsp
        andq    $~63, %rsp
.endm

/* The whole FPU/SSE/AVX state into the area at base: XSAVE of x87|SSE|AVX when the kernel enabled
   it, else FXSAVE. Clobbers rax, rdx. */
.macro SAVE_VECTOR_STATE base
        cmpb    $0, libra_use_xsave(%rip)
        je      1f
        /* XSAVE writes only XSTATE_BV of the header; XRSTOR faults on a dirty rest. */
        movq    $0, 512(\base)
        movq    $0, 520(\base)
        movq    $0, 528(\base)
        movq    $0, 536(\base)
        movq    $0, 544(\base)
        movq    $0, 552(\base)
        movq    $0, 560(\base)
        movq    $0, 568(\base)
        movl    $7, %eax
        xorl    %edx, %edx
        xsave64 (\base)
        jmp     2f
1:      fxsave64 (\base)
2:
.endm

/* Clobbers rax, rdx. */
.macro RESTORE_VECTOR_STATE base
        cmpb    $0, libra_use_xsave(%rip)
        je      1f
        movl    $7, %eax
        xorl    %edx, %edx
        xrstor64 (\base)
        jmp     2f
1:      fxrstor64 (\base)
2:
.endm

/* XMM0-15 to or from where FXSAVE and XSAVE keep them: byte 160 + 16 i of the area (Intel SDM vol. 1
   §10.5.1, Table 10-2). */
.macro STORE_XMM_REGISTERS base
        movaps  %xmm0, 160(\base)
        movaps  %xmm1, 176(\base)
        movaps  %xmm2, 192(\base)
        movaps  %xmm3, 208(\base)
        movaps  %xmm4, 224(\base)
        movaps  %xmm5, 240(\base)
        movaps  %xmm6, 256(\base)
        movaps  %xmm7, 272(\base)
        movaps  %xmm8, 288(\base)
        movaps  %xmm9, 304(\base)
        movaps  %xmm10, 320(\base)
        movaps  %xmm11, 336(\base)
        movaps  %xmm12, 352(\base)
        movaps  %xmm13, 368(\base)
        movaps  %xmm14, 384(\base)
        movaps  %xmm15, 400(\base)
.endm
.macro LOAD_XMM_REGISTERS base
        movaps  160(\base), %xmm0
        movaps  176(\base), %xmm1
        movaps  192(\base), %xmm2
        movaps  208(\base), %xmm3
        movaps  224(\base), %xmm4
        movaps  240(\base), %xmm5
        movaps  256(\base), %xmm6
        movaps  272(\base), %xmm7
        movaps  288(\base), %xmm8
        movaps  304(\base), %xmm9
        movaps  320(\base), %xmm10
        movaps  336(\base), %xmm11
        movaps  352(\base), %xmm12
        movaps  368(\base), %xmm13
        movaps  384(\base), %xmm14
        movaps  400(\base), %xmm15
.endm

/* rsp = the frame: every general register back, rsp left at the vector. */
.macro RESTORE_REGISTERS
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
.noaltmacro                             /* register arguments (%rsp) below are not expressions */

interrupt_common:
        SAVE_REGISTERS
        RESERVE_STATE_AREA
        SAVE_VECTOR_STATE %rsp
        cld
        call    libra_interrupt
        /* rbx = the frame, rsp = its state area; a new thread starts here (Threads/Scheduler.cs). */
        .globl libra_interrupt_exit
libra_interrupt_exit:
        RESTORE_VECTOR_STATE %rsp
iret_to_frame:
        movq    %rbx, %rsp
        RESTORE_REGISTERS
        addq    $16, %rsp               /* vector and error code */
        iretq

/*
 * SYSCALL from ring 3 (Intel SDM vol. 2B): RCX = user RIP, R11 = user RFLAGS, IF and DF already
 * clear (SFMASK), RSP still the user's. One CPU: the user RSP waits in a scratch slot while we move
 * to the current thread's kernel stack, then the frame is built as if an interrupt had arrived.
 * libra_syscall answers how to leave (SyscallReturn.cs): bit 0, the whole vector state is in the
 * area (the thread was switched out, or a signal or clone needed it) and XRSTOR puts it back, else
 * only XMM0-15 come back; bit 1, the frame needs IRETQ, else SYSRET.
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
        SAVE_REGISTERS
        RESERVE_STATE_AREA
        STORE_XMM_REGISTERS %rsp
        call    libra_syscall
        testb   $1, %al
        jnz     3f
        LOAD_XMM_REGISTERS %rsp
        jmp     4f
3:      movl    %eax, %ecx
        RESTORE_VECTOR_STATE %rsp
        movl    %ecx, %eax
4:      testb   $2, %al
        jnz     iret_to_frame
        movq    %rbx, %rsp
        /* SYSRET: RIP = RCX, RFLAGS = R11, and the frame's RCX and R11 are its RIP and RFLAGS. */
        RESTORE_REGISTERS
        movq    40(%rsp), %rsp          /* the frame's RSP, past vector, error code, RIP, CS, RFLAGS */
        sysretq

/*
 * libra_save_user_vector_state(area): completes a syscall's save (UserVectorState.cs). XMM0-15 go
 * back into the registers from the area, then the whole state (x87, MXCSR, the AVX upper halves
 * still the user's) is saved there. The caller's XMM registers are not preserved (SysV: caller-saved).
 */
        .globl libra_save_user_vector_state
libra_save_user_vector_state:
        LOAD_XMM_REGISTERS %rdi
        SAVE_VECTOR_STATE %rdi
        ret

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
.altmacro
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
