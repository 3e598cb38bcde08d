/* Copies that may touch the application's memory, bound by [RuntimeImport] in Arch/X64/Native.cs
   (SysV ABI). Each instruction that may fault on a user address has an entry in user_fault_table:
   when the page fault at it is one the application's areas do not allow (unmapped, or the wrong
   protection: a concurrent munmap or mprotect), Interrupts resumes at the entry's fixup instead of
   panicking, and the routine returns failure (Linux's copy_user and _ASM_EXTABLE,
   arch/x86/lib/copy_user_64.S and arch/x86/mm/extable.c). */
        .text

        .globl libra_user_copy
libra_user_copy:                        /* (dst, src, len) -> bytes not copied: 0 when all were */
        movq    %rdx, %rcx
10:     rep movsb                       /* a fault leaves rcx = bytes not copied (Intel SDM vol. 2B, REP) */
        xorl    %eax, %eax
        ret
11:     movq    %rcx, %rax
        ret

        .globl libra_user_string
libra_user_string:                      /* (dst, src, capacity) -> length before the NUL, capacity when none, -1 on a fault */
        xorl    %eax, %eax
1:      cmpq    %rdx, %rax
        jae     2f
20:     movzbl  (%rsi, %rax), %ecx
21:     movb    %cl, (%rdi, %rax)
        testb   %cl, %cl
        jz      2f
        incq    %rax
        jmp     1b
2:      ret
22:     movq    $-1, %rax
        ret

        .globl libra_user_fixup
libra_user_fixup:                       /* (faulting rip) -> where to resume, 0 when rip is no user copy's */
        leaq    user_fault_table(%rip), %rsi
        leaq    user_fault_table_end(%rip), %rdx
1:      cmpq    %rdx, %rsi
        jae     2f
        cmpq    (%rsi), %rdi
        je      3f
        addq    $16, %rsi
        jmp     1b
2:      xorl    %eax, %eax
        ret
3:      movq    8(%rsi), %rax
        ret

        .section .rodata
        .balign 8
user_fault_table:                       /* pairs: the instruction that may fault, where to resume */
        .quad   10b, 11b
        .quad   20b, 22b
        .quad   21b, 22b
user_fault_table_end:
