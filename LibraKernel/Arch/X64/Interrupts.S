/*
 * One entry stub per IDT vector. Each pushes the vector (and a zero where the CPU pushes no error
 * code), then the common path saves every general register and the SSE state and calls the C#
 * handler libra_interrupt(InterruptFrame*). The frame layout is Arch/X64/InterruptFrame.cs.
 */
        .text

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
        subq    $512, %rsp
        andq    $~15, %rsp
        fxsave64 (%rsp)
        cld
        call    libra_interrupt
        fxrstor64 (%rsp)
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
