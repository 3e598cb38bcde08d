/*
 * PVH entry: QEMU (or Xen) jumps here in 32-bit protected mode, paging off, %ebx = the physical
 * address of hvm_start_info (Xen docs/misc/pvh.pandoc). We build minimal page tables, enter long
 * mode, move to the higher half, enable SSE/AVX and call the C# kmain(start_info_phys).
 *
 * Early map (replaced by Memory/KernelAddressSpace.cs as soon as C# runs), all with 2 MiB pages:
 *   0 .. 1 GiB identity                       (only while we jump to the higher half)
 *   0xffff800000000000 + 0 .. 1 GiB           (the direct map of physical memory)
 *   0xffffffff80000000 + 0 .. 1 GiB           (the kernel image)
 */
        .equ    KERNEL_VMA, 0xffffffff80000000
        .equ    PTE_P, 0x001
        .equ    PTE_W, 0x002
        .equ    PTE_PS, 0x080
        .equ    MSR_EFER, 0xc0000080
        .equ    EFER_SCE, (1 << 0)
        .equ    EFER_LME, (1 << 8)
        .equ    EFER_NXE, (1 << 11)
        .equ    COM1, 0x3f8

        .section .note.Xen, "a", @note
        .balign 4
        .long 4                         /* name size: "Xen\0" */
        .long 8                         /* descriptor size: 8 bytes, upper half zero, read by both QEMU readers */
        .long 18                        /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .balign 4
        .quad pvh_start
        .balign 4

        .section .boot.text, "ax"
        .code32
        .globl pvh_start
pvh_start:
        cli
        cld
        movl    %ebx, %edi                      /* keep start_info in %edi across the switch */
        movl    $boot_stack32_top, %esp

        /* Long mode needs CPUID leaf 0x80000001 EDX bit 29. */
        movl    $0x80000000, %eax
        cpuid
        cmpl    $0x80000001, %eax
        jb      no_long_mode
        movl    $0x80000001, %eax
        cpuid
        btl     $29, %edx
        jnc     no_long_mode

        /* Zero the early tables (4 pages), then fill them. */
        movl    $boot_pml4, %ebx
        movl    %ebx, %edx
        movl    %edi, %esi
        movl    %edx, %edi
        xorl    %eax, %eax
        movl    $(4 * 4096 / 4), %ecx
        rep stosl
        movl    %esi, %edi

        movl    $boot_pdpt_low, %eax
        orl     $(PTE_P | PTE_W), %eax
        movl    %eax, boot_pml4                 /* PML4[0]   -> identity */
        movl    $boot_pdpt_high, %eax
        orl     $(PTE_P | PTE_W), %eax
        movl    %eax, boot_pml4 + 256 * 8       /* PML4[256] -> direct map */
        movl    %eax, boot_pml4 + 511 * 8       /* PML4[511] -> kernel image */
        movl    $boot_pd, %eax
        orl     $(PTE_P | PTE_W), %eax
        movl    %eax, boot_pdpt_low             /* PDPT[0]   -> the 1 GiB directory */
        movl    %eax, boot_pdpt_high            /* PDPT[0]   of the direct map */
        movl    %eax, boot_pdpt_high + 510 * 8  /* PDPT[510] of 0xffffffff80000000 */

        movl    $boot_pd, %ebx
        xorl    %ecx, %ecx
1:      movl    %ecx, %eax
        shll    $21, %eax
        orl     $(PTE_P | PTE_W | PTE_PS), %eax
        movl    %eax, (%ebx, %ecx, 8)
        incl    %ecx
        cmpl    $512, %ecx
        jb      1b

        movl    %cr4, %eax
        orl     $(1 << 5), %eax                 /* CR4.PAE */
        movl    %eax, %cr4
        movl    $boot_pml4, %eax
        movl    %eax, %cr3
        movl    $MSR_EFER, %ecx
        rdmsr
        orl     $(EFER_SCE | EFER_LME | EFER_NXE), %eax
        wrmsr
        movl    %cr0, %eax
        orl     $((1 << 31) | (1 << 16) | 1), %eax    /* CR0.PG | WP | PE */
        movl    %eax, %cr0

        lgdt    boot_gdt_descriptor
        ljmp    $0x08, $long_mode

no_long_mode:
        movl    $no_long_mode_message, %esi
2:      movb    (%esi), %al
        testb   %al, %al
        jz      3f
        movw    $COM1, %dx
        outb    %al, %dx
        incl    %esi
        jmp     2b
3:      movw    $0xf4, %dx                      /* isa-debug-exit: status (1 << 1) | 1 = 3 */
        movl    $1, %eax
        outl    %eax, %dx
4:      hlt
        jmp     4b

        .code64
long_mode:
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        xorw    %ax, %ax
        movw    %ax, %fs
        movw    %ax, %gs
        movabsq $higher_half, %rax
        jmp     *%rax

        .section .boot.data, "aw"
        .balign 8
boot_gdt:
        .quad   0
        .quad   0x00209a0000000000              /* 0x08: 64-bit code */
        .quad   0x0000920000000000              /* 0x10: data */
boot_gdt_end:
boot_gdt_descriptor:
        .word   boot_gdt_end - boot_gdt - 1
        .long   boot_gdt
no_long_mode_message:
        .asciz  "libra: this CPU has no 64-bit long mode (run QEMU with -cpu max or -cpu host)\n"

        .section .boot.bss, "aw", @nobits
        .balign 4096
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4096
boot_stack32:   .skip 1024
boot_stack32_top:

        .text
higher_half:
        movabsq $boot_stack_top, %rsp
        xorl    %ebp, %ebp

        /* SSE: CR0.EM off, MP and NE on; CR4.OSFXSR | OSXMMEXCPT. ILC code uses XMM everywhere. */
        movq    %cr0, %rax
        andq    $~(1 << 2), %rax
        orq     $((1 << 1) | (1 << 5)), %rax
        movq    %rax, %cr0
        movq    %cr4, %rax
        orq     $((1 << 9) | (1 << 10)), %rax
        movq    %rax, %cr4

        /* AVX when the CPU has XSAVE and AVX: CR4.OSXSAVE, then XCR0 = x87 | SSE | AVX. The entry stubs
           then keep the application's AVX state with XSAVE (Arch/X64/Interrupts.S). */
        movl    $1, %eax
        cpuid
        movl    %ecx, %esi
        andl    $((1 << 26) | (1 << 28)), %esi
        cmpl    $((1 << 26) | (1 << 28)), %esi
        jne     1f
        movq    %cr4, %rax
        orq     $(1 << 18), %rax
        movq    %rax, %cr4
        xorl    %ecx, %ecx
        movl    $7, %eax
        xorl    %edx, %edx
        xsetbv
        movb    $1, libra_use_xsave(%rip)
1:      fninit
        /* %edi still holds start_info; kmain(ulong startInfoPhysical) */
        movl    %edi, %edi
        call    kmain
2:      cli
        hlt
        jmp     2b

        .section .bss
        .balign 16
        .globl boot_stack_top
boot_stack:
        .skip   64 * 1024
boot_stack_top:
