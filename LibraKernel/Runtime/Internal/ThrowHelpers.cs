using Libra.Diagnostics;

namespace Internal.Runtime.CompilerHelpers
{
    // ILC calls these where C# semantics would throw. The kernel has no exceptions: each is a panic
    // naming what went wrong, with the caller in the backtrace.
    internal static class ThrowHelpers
    {
        internal static void ThrowIndexOutOfRangeException() => Panic.Halt("index out of range");
        internal static void ThrowArgumentOutOfRangeException() => Panic.Halt("argument out of range");
        internal static void ThrowArgumentException() => Panic.Halt("invalid argument");
        internal static void ThrowNullReferenceException() => Panic.Halt("null reference");
        internal static void ThrowDivideByZeroException() => Panic.Halt("divide by zero");
        internal static void ThrowOverflowException() => Panic.Halt("arithmetic overflow");
        internal static void ThrowPlatformNotSupportedException() => Panic.Halt("platform not supported");
        internal static void ThrowNotImplementedException() => Panic.Halt("not implemented");
        internal static void ThrowArrayTypeMismatchException() => Panic.Halt("array type mismatch");
        internal static void ThrowInvalidCastException() => Panic.Halt("invalid cast");
        internal static void ThrowTypeLoadException() => Panic.Halt("type load");
        internal static void ThrowTypeLoadExceptionWithArgument() => Panic.Halt("type load");
        internal static void ThrowFeatureBodyRemoved() => Panic.Halt("feature removed by the compiler");
        internal static void ThrowInstanceBodyRemoved() => Panic.Halt("body removed by the compiler");
        internal static void ThrowBodyRemoved() => Panic.Halt("body removed by the compiler");
        internal static void ThrowNotSupportedException() => Panic.Halt("not supported");
        internal static void ThrowUnavailableType() => Panic.Halt("unavailable type");
        internal static void ThrowInvalidProgramException() => Panic.Halt("invalid program");
        internal static void ThrowInvalidProgramExceptionWithArgument() => Panic.Halt("invalid program");
        internal static void ThrowMarshalDirectiveException() => Panic.Halt("marshal directive");
        internal static void ThrowBadImageFormatException() => Panic.Halt("bad image format");
        internal static void ThrowMissingMethodException() => Panic.Halt("missing method");
        internal static void ThrowMissingFieldException() => Panic.Halt("missing field");
        internal static void ThrowFileNotFoundException() => Panic.Halt("file not found");
        internal static void ThrowAmbiguousMatchException() => Panic.Halt("ambiguous match");
    }
}
