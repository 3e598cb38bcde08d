namespace Libra.Diagnostics
{
    // The kernel's own symbol table, which build/kernel.ps1 writes into the image's .ksyms section:
    //   u32 magic "KSYM", u32 count, count x { u64 address, u32 name offset, u32 size }, then the
    //   NUL-terminated names; entries sorted by address. Lookup maps a code address to its function.
    internal readonly unsafe struct SymbolTable
    {
        internal const uint Magic = 0x4d59534b;
        internal const int HeaderSize = 8, EntrySize = 16;

        private readonly byte* _table;
        private readonly ulong _length;

        internal SymbolTable(byte* table, ulong length)
        {
            bool valid = table != null && length >= HeaderSize && *(uint*)table == Magic &&
                HeaderSize + (ulong)*(uint*)(table + 4) * EntrySize <= length;
            _table = valid ? table : null;
            _length = valid ? length : 0;
        }

        internal bool IsValid => _table != null;
        internal int Count => IsValid ? (int)*(uint*)(_table + 4) : 0;

        // The function containing `address`: its name (NUL-terminated ASCII) and the offset into it;
        // false when no symbol covers the address.
        internal bool Lookup(ulong address, out byte* name, out ulong offset)
        {
            name = null;
            offset = 0;
            int low = 0, high = Count - 1, found = -1;
            while (low <= high)
            {
                int mid = (low + high) >> 1;
                if (EntryAddress(mid) <= address) { found = mid; low = mid + 1; }
                else high = mid - 1;
            }
            if (found < 0) return false;
            byte* entry = _table + HeaderSize + found * EntrySize;
            uint size = *(uint*)(entry + 12);
            offset = address - EntryAddress(found);
            if (size != 0 && offset >= size) return false;
            ulong nameOffset = *(uint*)(entry + 8);
            if (nameOffset >= _length) return false;
            name = _table + nameOffset;
            return true;
        }

        private ulong EntryAddress(int index) => *(ulong*)(_table + HeaderSize + index * EntrySize);
    }
}
