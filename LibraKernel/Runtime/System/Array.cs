using System.Runtime.CompilerServices;

namespace System
{
    // Layout contract with ILC: the element count, padded to 8 bytes on x64, then the elements.
    public abstract class Array
    {
        private readonly int _length;
        private readonly int _padding;

        public int Length => _length;
    }

    // ILC's view of T[]; a class of this name must exist in the system module.
    public class Array<T> : Array { }
}
