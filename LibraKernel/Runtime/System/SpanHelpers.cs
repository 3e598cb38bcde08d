using System.Runtime.CompilerServices;
using Libra.Arch.X64;

namespace System
{
    // The block helpers ILC's JIT interface maps CORINFO_HELP_MEMCPY / MEMSET / MEMZERO to (.NET 10).
    internal static unsafe class SpanHelpers
    {
        [Intrinsic]
        internal static void Memmove(ref byte destination, ref byte source, nuint length) =>
            Native.MemMove(Unsafe.AsPointer(ref destination), Unsafe.AsPointer(ref source), length);

        [Intrinsic]
        internal static void ClearWithoutReferences(ref byte destination, nuint length) =>
            Native.MemSet(Unsafe.AsPointer(ref destination), 0, length);

        [Intrinsic]
        internal static void Fill(ref byte destination, nuint count, byte value) =>
            Native.MemSet(Unsafe.AsPointer(ref destination), value, count);
    }
}
