using System.Runtime.CompilerServices;
using Libra.Arch.X64;

namespace System
{
    // Block copies and fills that ILC lowers struct copies, initblk and cpblk to.
    public static unsafe class Buffer
    {
        public static void Memmove(ref byte destination, ref byte source, nuint length) =>
            Native.MemMove(Unsafe.AsPointer(ref destination), Unsafe.AsPointer(ref source), length);

        internal static void BulkMoveWithWriteBarrier(ref byte destination, ref byte source, nuint length) =>
            Native.MemMove(Unsafe.AsPointer(ref destination), Unsafe.AsPointer(ref source), length);

        internal static void ZeroMemory(ref byte destination, nuint length) =>
            Native.MemSet(Unsafe.AsPointer(ref destination), 0, length);

        internal static void _ZeroMemory(ref byte destination, nuint length) => ZeroMemory(ref destination, length);

        public static void MemoryCopy(void* source, void* destination, long destinationSize, long length) =>
            Native.MemMove(destination, source, (nuint)length);
    }
}
