using Libra.Arch.X64;

namespace Libra.Diagnostics
{
    // The symbol table linked into this image (.ksyms, see Boot/kernel.ld).
    internal static unsafe class KernelSymbols
    {
        internal static SymbolTable Table
        {
            get
            {
                Memory.ImageLayout* layout = Native.GetImageLayout();
                return new SymbolTable((byte*)layout->SymbolsStart, layout->SymbolsEnd - layout->SymbolsStart);
            }
        }
    }
}
