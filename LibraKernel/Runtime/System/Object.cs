using Internal.Runtime;

namespace System
{
    // The layout of Object is a contract with ILC: the first field is the MethodTable pointer.
    public unsafe class Object
    {
        internal MethodTable* m_pMethodTable;

        public Object() { }

        public virtual bool Equals(object obj) => (object)this == obj;

        public virtual int GetHashCode() => 0;

        public virtual string ToString() => null;

        public static bool ReferenceEquals(object a, object b) => a == b;
    }
}
