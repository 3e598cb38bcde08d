namespace Libra.Boot
{
    // The PVH boot protocol: hvm_start_info as QEMU's pvh.bin or qboot fill it
    // (Xen include/public/arch-x86/hvm/start_info.h). Reads physical memory through `physical`,
    // a pointer that maps physical address 0 (the direct map in the kernel, a buffer in tests).
    internal static unsafe class Pvh
    {
        internal const uint Magic = 0x336ec578;
        private const int StartInfoSize = 56, ModuleEntrySize = 32, MemoryMapEntrySize = 24;

        internal enum Error { None, BadMagic, NoMemoryMap, TooManyRegions }

        internal static Error Parse(byte* physical, ulong startInfo, out BootInfo info)
        {
            info = default;
            byte* si = physical + startInfo;
            if (*(uint*)si != Magic) return Error.BadMagic;
            uint version = *(uint*)(si + 4);
            uint moduleCount = *(uint*)(si + 12);
            ulong moduleList = *(ulong*)(si + 16);
            info.CommandLinePhysical = *(ulong*)(si + 24);
            info.RsdpPhysical = *(ulong*)(si + 32);
            ulong memoryMap = version >= 1 ? *(ulong*)(si + 40) : 0;
            uint memoryMapEntries = version >= 1 ? *(uint*)(si + 48) : 0;

            for (uint i = 0; i < moduleCount && info.ModuleCount < BootInfo.MaxModules; i++)
            {
                byte* entry = physical + moduleList + i * ModuleEntrySize;
                info.ModulePhysical[info.ModuleCount] = *(ulong*)entry;
                info.ModuleSize[info.ModuleCount] = *(ulong*)(entry + 8);
                info.ModuleCount++;
            }

            if (memoryMap == 0 || memoryMapEntries == 0) return Error.NoMemoryMap;
            for (uint i = 0; i < memoryMapEntries; i++)
            {
                byte* entry = physical + memoryMap + i * MemoryMapEntrySize;
                if (!info.Memory.Add(*(ulong*)entry, *(ulong*)(entry + 8), (MemoryKind)(*(uint*)(entry + 16))))
                    return Error.TooManyRegions;
            }
            info.Memory.Normalize();
            return Error.None;
        }
    }
}
