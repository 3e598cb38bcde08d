/* The instructions C# cannot express; each is bound by [RuntimeImport] in Arch/X64/Native.cs (SysV ABI). */
        .text

        .globl libra_memmove
libra_memmove:                          /* (dst, src, len) -> dst; copies backwards when regions overlap that way */
        movq    %rdi, %rax
        movq    %rdx, %rcx
        cmpq    %rsi, %rdi
        jbe     1f
        leaq    (%rsi, %rdx), %r8
        cmpq    %r8, %rdi
        jae     1f
        leaq    -1(%rdi, %rdx), %rdi
        leaq    -1(%rsi, %rdx), %rsi
        std
        rep movsb
        cld
        ret
1:      rep movsb
        ret

        .globl libra_memset
libra_memset:                           /* (dst, byte, len) -> dst */
        movq    %rdi, %r8
        movl    %esi, %eax
        movq    %rdx, %rcx
        rep stosb
        movq    %r8, %rax
        ret

        .globl libra_outb
libra_outb:
        movl    %edi, %edx
        movl    %esi, %eax
        outb    %al, %dx
        ret

        .globl libra_inb
libra_inb:
        movl    %edi, %edx
        xorl    %eax, %eax
        inb     %dx, %al
        ret

        .globl libra_outl
libra_outl:
        movl    %edi, %edx
        movl    %esi, %eax
        outl    %eax, %dx
        ret

        .globl libra_inl
libra_inl:
        movl    %edi, %edx
        inl     %dx, %eax
        ret

        .globl libra_rdtsc
libra_rdtsc:
        rdtsc
        shlq    $32, %rdx
        orq     %rdx, %rax
        ret

        .globl libra_rdmsr
libra_rdmsr:
        movl    %edi, %ecx
        rdmsr
        shlq    $32, %rdx
        orq     %rdx, %rax
        ret

        .globl libra_wrmsr
libra_wrmsr:
        movl    %edi, %ecx
        movl    %esi, %eax
        movq    %rsi, %rdx
        shrq    $32, %rdx
        wrmsr
        ret

        .globl libra_cpuid
libra_cpuid:                            /* (leaf, subleaf, uint* regs) */
        pushq   %rbx
        movq    %rdx, %r8
        movl    %edi, %eax
        movl    %esi, %ecx
        cpuid
        movl    %eax, 0(%r8)
        movl    %ebx, 4(%r8)
        movl    %ecx, 8(%r8)
        movl    %edx, 12(%r8)
        popq    %rbx
        ret

        .globl libra_read_cr0
libra_read_cr0:
        movq    %cr0, %rax
        ret

        .globl libra_read_cr2
libra_read_cr2:
        movq    %cr2, %rax
        ret

        .globl libra_read_cr3
libra_read_cr3:
        movq    %cr3, %rax
        ret

        .globl libra_write_cr3
libra_write_cr3:
        movq    %rdi, %cr3
        ret

        .globl libra_read_cr4
libra_read_cr4:
        movq    %cr4, %rax
        ret

        .globl libra_lgdt
libra_lgdt:                             /* (descriptor, code selector, data selector): reload every segment */
        lgdt    (%rdi)
        movw    %dx, %ds
        movw    %dx, %es
        movw    %dx, %ss
        xorl    %eax, %eax
        movw    %ax, %fs
        movw    %ax, %gs
        popq    %rax                    /* return address */
        movzwq  %si, %rsi
        pushq   %rsi
        pushq   %rax
        lretq

        .globl libra_lidt
libra_lidt:
        lidt    (%rdi)
        ret

        .globl libra_ltr
libra_ltr:
        ltr     %di
        ret

        .globl libra_invlpg
libra_invlpg:
        invlpg  (%rdi)
        ret

        .globl libra_sti
libra_sti:
        sti
        ret

        .globl libra_cli
libra_cli:
        cli
        ret

        .globl libra_hlt
libra_hlt:
        hlt
        ret

        /* The idle wait: STI holds interrupts off until after the next instruction (Intel SDM vol. 2B
           STI), so an interrupt that arrives between the two still ends the HLT instead of being
           taken before it and leaving the CPU halted until the one after. Interrupts are off again
           on return. */
        .globl libra_wait_for_interrupt
libra_wait_for_interrupt:
        sti
        hlt
        cli
        ret

        .globl libra_mfence
libra_mfence:
        mfence
        ret

        .globl libra_pause
libra_pause:
        pause
        ret

        .globl libra_rdrand
libra_rdrand:                           /* () -> a hardware random 64-bit value (retries until CF=1) */
        movl    $64, %ecx
1:      rdrand  %rax
        jc      2f
        decl    %ecx
        jnz     1b
        rdtsc
        shlq    $32, %rdx
        orq     %rdx, %rax
2:      ret

        .globl libra_capture_context
libra_capture_context:
        movq    (%rsp), %rax
        movq    %rax, 0(%rdi)
        leaq    8(%rsp), %rax
        movq    %rax, 8(%rdi)
        movq    %rbp, 16(%rdi)
        ret

        .globl libra_raise_fault
libra_raise_fault:                      /* self-tests: a real fault at a known place */
        cmpl    $0, %edi
        je      .Lpage_fault
        cmpl    $1, %edi
        je      .Ldivide
        cmpl    $2, %edi
        je      .Linvalid_opcode
        cmpl    $3, %edi
        je      .Lbreakpoint
        movq    $0x8000000000000000, %rax /* non-canonical address: #GP */
        movq    (%rax), %rax
        ret
.Lpage_fault:
        movq    $0xdead000, %rax
        movq    (%rax), %rax
        ret
.Ldivide:
        xorl    %ecx, %ecx
        movl    $1, %eax
        xorl    %edx, %edx
        divl    %ecx
        ret
.Linvalid_opcode:
        ud2
        ret
.Lbreakpoint:
        int3
        ret

        /* The image's section bounds from Boot/kernel.ld, as Memory/ImageLayout.cs reads them. */
        .globl libra_image_layout
libra_image_layout:
        leaq    image_layout(%rip), %rax
        ret

        .section .rodata
        .balign 8
image_layout:
        .quad   __kernel_physical_start
        .quad   __text_start
        .quad   __text_end
        .quad   __rodata_start
        .quad   __rodata_end
        .quad   __data_start
        .quad   __data_end
        .quad   __ksyms_start
        .quad   __ksyms_end
        .quad   __kernel_end
        .quad   __eh_frame_start
        .quad   __eh_frame_end
        .quad   boot_stack_top
        .quad   libra_vdso_image_start
        .quad   libra_vdso_image_end
        .quad   libra_vdso_data_page

        /* The stack-protector cookie ILC's code checks around stackalloc buffers. */
        .data
        .balign 8
        .globl __security_cookie
__security_cookie:
        .quad   0x2b992ddfa232c0de
