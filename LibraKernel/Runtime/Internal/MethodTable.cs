namespace Internal.Runtime
{
    // The head of ILC's MethodTable (the type descriptor every object points to); only the fields
    // the allocator and casts read. Layout: dotnet/runtime src/coreclr/nativeaot/Runtime/inc/MethodTable.h.
    internal unsafe struct MethodTable
    {
        internal ushort ComponentSize;
        internal ushort Flags;
        internal uint BaseSize;
        internal MethodTable* RelatedType;
        internal ushort NumVtableSlots;
        internal ushort NumInterfaces;
        internal uint HashCode;

        internal const ushort HasComponentSizeFlag = 0x8000;
    }
}

namespace System.Runtime.CompilerServices
{
    // How ILC sees an array object, to reach its first element.
    internal sealed class RawArrayData
    {
        public uint Length;
        public uint Padding;
        public byte Data;
    }

    // Runs a type's static constructor the first time its statics are touched (the layout is ILC's, .NET 8+).
    internal struct StaticClassConstructionContext
    {
        public nint CctorMethodAddress;
    }

    internal static unsafe class ClassConstructorRunner
    {
        private static void EnsureClassConstructorRun(ref StaticClassConstructionContext context)
        {
            nint cctor = context.CctorMethodAddress;
            if (cctor == 0) return;
            context.CctorMethodAddress = 0;
            ((delegate*<void>)cctor)();
        }

        private static object CheckStaticClassConstructionReturnGCStaticBase(ref StaticClassConstructionContext context, object gcStaticBase)
        {
            EnsureClassConstructorRun(ref context);
            return gcStaticBase;
        }

        private static nint CheckStaticClassConstructionReturnNonGCStaticBase(ref StaticClassConstructionContext context, nint nonGcStaticBase)
        {
            EnsureClassConstructorRun(ref context);
            return nonGcStaticBase;
        }
    }
}
