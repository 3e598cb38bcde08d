namespace Libra.Boot
{
    // What the kernel knows about how it was booted, whatever the boot protocol: the physical memory
    // map, the command line and the modules (the -initrd file). Boot/Pvh.cs fills it from PVH.
    internal unsafe struct BootInfo
    {
        internal const int MaxModules = 4;

        internal MemoryMap Memory;
        internal ulong CommandLinePhysical;     // 0 when there is none
        internal ulong RsdpPhysical;
        internal int ModuleCount;
        internal fixed ulong ModulePhysical[MaxModules];
        internal fixed ulong ModuleSize[MaxModules];
    }
}
