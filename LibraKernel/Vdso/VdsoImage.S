/*
 * The vDSO image (vdso.so, built from vdso.c and vdso.lds by build/kernel.ps1 before this file is
 * assembled with -I pointing at it) and the data page the kernel maps just below it in the
 * application (Vdso/Vdso.cs). Both are found through Memory/ImageLayout.cs.
 */
        .section .rodata
        .balign 4096
        .globl libra_vdso_image_start, libra_vdso_image_end
libra_vdso_image_start:
        .incbin "vdso.so"
libra_vdso_image_end:

        /* struct vdso_data (vdso.c), one whole page so that mapping it shows nothing else. */
        .data
        .balign 4096
        .globl libra_vdso_data_page
libra_vdso_data_page:
        .zero   4096
