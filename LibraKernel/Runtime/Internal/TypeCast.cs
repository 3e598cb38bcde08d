using System.Runtime.CompilerServices;
using Internal.Runtime;
using Internal.Runtime.CompilerHelpers;
using Libra.Diagnostics;

namespace System.Runtime
{
    // Casting helpers ILC calls for `is`, `as` and casts it cannot decide at compile time. The kernel
    // uses single inheritance only: a class cast walks the parent chain; interface casts are a panic.
    internal static unsafe class TypeCast
    {
        private static bool IsDerivedFrom(MethodTable* type, MethodTable* target)
        {
            for (; type != null; type = type->RelatedType)
                if (type == target) return true;
            return false;
        }

        private static object IsInstanceOfClass(MethodTable* target, object obj) =>
            obj == null || IsDerivedFrom(obj.m_pMethodTable, target) ? obj : null;

        private static object IsInstanceOfAny(MethodTable* target, object obj) => IsInstanceOfClass(target, obj);

        private static bool IsInstanceOfException(MethodTable* target, object obj) => obj != null && IsDerivedFrom(obj.m_pMethodTable, target);

        private static object IsInstanceOfInterface(MethodTable* target, object obj)
        {
            Panic.Halt("interface cast in the kernel");
            return null;
        }

        private static object CheckCastClass(MethodTable* target, object obj)
        {
            if (obj != null && !IsDerivedFrom(obj.m_pMethodTable, target)) ThrowHelpers.ThrowInvalidCastException();
            return obj;
        }

        private static object CheckCastClassSpecial(MethodTable* target, object obj) => CheckCastClass(target, obj);

        private static object CheckCastAny(MethodTable* target, object obj) => CheckCastClass(target, obj);

        private static object CheckCastInterface(MethodTable* target, object obj) => IsInstanceOfInterface(target, obj);

        private static void StelemRef(object[] array, nint index, object obj)
        {
            if ((nuint)index >= (uint)array.Length) ThrowHelpers.ThrowIndexOutOfRangeException();
            Unsafe.Add(ref Unsafe.As<byte, object>(ref Unsafe.As<RawArrayData>(array).Data), index) = obj;
        }

        private static ref object LdelemaRef(object[] array, nint index, MethodTable* elementType)
        {
            if ((nuint)index >= (uint)array.Length) ThrowHelpers.ThrowIndexOutOfRangeException();
            return ref Unsafe.Add(ref Unsafe.As<byte, object>(ref Unsafe.As<RawArrayData>(array).Data), index);
        }
    }
}
