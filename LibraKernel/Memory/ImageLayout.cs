namespace Libra.Memory
{
    // Where the linker put the kernel's sections (virtual addresses, except PhysicalStart); filled by
    // Arch/X64/Native.S from the symbols of Boot/kernel.ld.
    internal struct ImageLayout
    {
        internal ulong PhysicalStart;
        internal ulong TextStart, TextEnd;
        internal ulong RodataStart, RodataEnd;
        internal ulong DataStart, DataEnd;
        internal ulong SymbolsStart, SymbolsEnd;
        internal ulong End;
        internal ulong EhFrameStart, EhFrameEnd;
        internal ulong BootStackTop;
        // The vDSO image and its data page (Vdso/VdsoImage.S).
        internal ulong VdsoImageStart, VdsoImageEnd;
        internal ulong VdsoDataPage;

        internal ulong PhysicalEnd => End - Layout.KernelImageBase;
    }
}
