using System.Runtime.CompilerServices;

namespace System
{
    // Layout contract with ILC: the length, then the UTF-16 characters inline (null-terminated).
    public sealed class String
    {
        [IndexerName("Chars")]
        public unsafe char this[int index]
        {
            [Intrinsic]
            get
            {
                if ((uint)index >= (uint)_stringLength) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowIndexOutOfRangeException();
                return Unsafe.Add(ref _firstChar, index);
            }
        }

        private readonly int _stringLength;
        private char _firstChar;

        public int Length { [Intrinsic] get => _stringLength; }

        public static readonly string Empty = "";

        public ref readonly char GetPinnableReference() => ref _firstChar;

        internal ReadOnlySpan<char> Characters => new ReadOnlySpan<char>(ref _firstChar, _stringLength);

        public static bool operator ==(string a, string b) => Equals(a, b);
        public static bool operator !=(string a, string b) => !Equals(a, b);

        public override bool Equals(object obj) => obj is string other && Equals(this, other);

        public static bool Equals(string a, string b)
        {
            if ((object)a == b) return true;
            if (a is null || b is null || a._stringLength != b._stringLength) return false;
            for (int i = 0; i < a._stringLength; i++)
                if (a[i] != b[i]) return false;
            return true;
        }

        public override int GetHashCode()
        {
            uint hash = 2166136261;
            for (int i = 0; i < _stringLength; i++) hash = (hash ^ this[i]) * 16777619;
            return (int)hash;
        }

        public override string ToString() => this;

        public bool StartsWith(string prefix)
        {
            if (prefix._stringLength > _stringLength) return false;
            for (int i = 0; i < prefix._stringLength; i++)
                if (this[i] != prefix[i]) return false;
            return true;
        }

        public ReadOnlySpan<char> AsSpan() => new ReadOnlySpan<char>(ref _firstChar, _stringLength);
    }

    // What C# needs to convert a string to ReadOnlySpan<char> implicitly.
    public static class MemoryExtensions
    {
        public static ReadOnlySpan<char> AsSpan(this string text) => text is null ? default : text.Characters;
    }
}
