using System;
using System.Runtime;
using System.Runtime.CompilerServices;
using Libra.Diagnostics;
using Libra.Memory;

namespace Internal.Runtime.CompilerHelpers
{
    // The helpers ILC-generated code calls by symbol name. ILC requires this class to exist.
    // The kernel has no GC: allocation takes zeroed memory from the kernel heap, and write barriers
    // are plain stores.
    internal static unsafe class StartupCodeHelpers
    {
        [RuntimeExport("RhpNewFast")]
        private static void* RhpNewFast(MethodTable* type)
        {
            MethodTable** obj = (MethodTable**)KernelHeap.AllocateObject(type->BaseSize);
            *obj = type;
            return obj;
        }

        [RuntimeExport("RhpNewFinalizable")]
        private static void* RhpNewFinalizable(MethodTable* type) => RhpNewFast(type);

        [RuntimeExport("RhpNewArrayFast")]
        private static void* RhpNewArrayFast(MethodTable* type, nint length) => NewArray(type, length);

        [RuntimeExport("RhpNewPtrArrayFast")]
        private static void* RhpNewPtrArrayFast(MethodTable* type, nint length) => NewArray(type, length);

        [RuntimeExport("RhpNewArray")]
        private static void* RhpNewArray(MethodTable* type, nint length) => NewArray(type, length);

        [RuntimeExport("RhNewString")]
        private static void* RhNewString(MethodTable* type, nint length) => NewArray(type, length);

        [RuntimeExport("RhNewVariableSizeObject")]
        private static void* RhNewVariableSizeObject(MethodTable* type, nint length) => NewArray(type, length);

        private static void* NewArray(MethodTable* type, nint length)
        {
            if (length < 0 || length > 0x7fffffc7) Panic.Halt("array length out of range");
            ulong size = type->BaseSize + (ulong)length * type->ComponentSize;
            size = (size + 7) & ~7ul;
            MethodTable** obj = (MethodTable**)KernelHeap.AllocateObject(size);
            *obj = type;
            *(int*)(obj + 1) = (int)length;
            return obj;
        }

        [RuntimeExport("RhpAssignRef")]
        private static void RhpAssignRef(void** destination, void* value) => *destination = value;

        [RuntimeExport("RhpCheckedAssignRef")]
        private static void RhpCheckedAssignRef(void** destination, void* value) => *destination = value;

        [RuntimeExport("RhpStelemRef")]
        private static void RhpStelemRef(void* array, nint index, void* value)
        {
            uint length = *(uint*)((byte*)array + 8);
            if ((nuint)index >= length) ThrowHelpers.ThrowIndexOutOfRangeException();
            ((void**)((byte*)array + 16))[index] = value;
        }

        [RuntimeExport("RhpGcPoll")]
        private static void RhpGcPoll() { }

        [RuntimeExport("RhpReversePInvoke")]
        private static void RhpReversePInvoke(void* frame) { }

        [RuntimeExport("RhpReversePInvokeReturn")]
        private static void RhpReversePInvokeReturn(void* frame) { }

        [RuntimeExport("RhpPInvoke")]
        private static void RhpPInvoke(void* frame) { }

        [RuntimeExport("RhpPInvokeReturn")]
        private static void RhpPInvokeReturn(void* frame) { }

        [RuntimeExport("RhpFallbackFailFast")]
        private static void RhpFallbackFailFast() => Panic.Halt("runtime fail-fast");
    }
}
