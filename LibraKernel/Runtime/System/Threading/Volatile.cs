using System.Runtime.CompilerServices;

namespace System.Threading
{
    // Reads and writes the JIT may not cache or reorder (fields marked volatile underneath).
    public static class Volatile
    {
        private struct VolatileUInt32 { public volatile uint Value; }
        private struct VolatileNUInt { public volatile nuint Value; }

        public static uint Read(ref uint location) => Unsafe.As<uint, VolatileUInt32>(ref location).Value;
        public static void Write(ref uint location, uint value) => Unsafe.As<uint, VolatileUInt32>(ref location).Value = value;
        public static ulong Read(ref ulong location) => Unsafe.As<ulong, VolatileNUInt>(ref location).Value;
        public static void Write(ref ulong location, ulong value) => Unsafe.As<ulong, VolatileNUInt>(ref location).Value = (nuint)value;
    }
}
