using Libra.Boot;
using Xunit;

namespace Libra.Tests.Unit;

public class MemoryMapTests
{
    [Fact]
    public void Normalize_sorts_regions_and_merges_touching_usable_ranges()
    {
        var map = new MemoryMap();
        map.Add(0x200000, 0x100000, MemoryKind.Usable);
        map.Add(0x100000, 0x100000, MemoryKind.Usable);
        map.Add(0, 0x9fc00, MemoryKind.Usable);
        map.Normalize();
        Assert.Equal(2, map.Count);
        Assert.Equal(0ul, map.Base(0));
        Assert.Equal(0x100000ul, map.Base(1));
        Assert.Equal(0x300000ul, map.End(1));
    }

    [Fact]
    public void Reserved_range_inside_usable_memory_splits_it()
    {
        var map = new MemoryMap();
        map.Add(0x100000, 0x900000, MemoryKind.Usable);      // 1..10 MiB
        map.Add(0x400000, 0x100000, MemoryKind.Reserved);    // 4..5 MiB
        map.Normalize();
        Assert.Equal(3, map.Count);
        Assert.Equal((0x100000ul, 0x400000ul, MemoryKind.Usable), (map.Base(0), map.End(0), map.Kind(0)));
        Assert.Equal(MemoryKind.Reserved, map.Kind(1));
        Assert.Equal((0x500000ul, 0xa00000ul, MemoryKind.Usable), (map.Base(2), map.End(2), map.Kind(2)));
        Assert.Equal(0x800000ul, map.UsableBytes);
        Assert.Equal(0xa00000ul, map.UsableTop);
    }

    [Fact]
    public void Reserved_range_overlapping_the_start_of_usable_memory_trims_it()
    {
        var map = new MemoryMap();
        map.Add(0x100000, 0x100000, MemoryKind.Usable);
        map.Add(0x0f0000, 0x20000, MemoryKind.AcpiNvs);
        map.Normalize();
        Assert.Equal(0x110000ul, map.Base(1));
        Assert.Equal(0x200000ul, map.End(1));
    }

    [Fact]
    public void Add_refuses_more_than_MaxRegions()
    {
        var map = new MemoryMap();
        for (int i = 0; i < MemoryMap.MaxRegions; i++) Assert.True(map.Add((ulong)i * 0x10000, 0x1000, MemoryKind.Reserved));
        Assert.False(map.Add(0x10000000, 0x1000, MemoryKind.Usable));
    }
}

public unsafe class PvhTests
{
    // A fake physical memory with a start_info at 0x1000, a memory map at 0x2000, a module list at
    // 0x3000 and a command line at 0x4000 (layout: Xen hvm/start_info.h, version 1).
    private static byte[] PhysicalMemory(uint magic = Pvh.Magic)
    {
        var memory = new byte[0x5000];
        void U32(int at, uint v) => BitConverter.TryWriteBytes(memory.AsSpan(at), v);
        void U64(int at, ulong v) => BitConverter.TryWriteBytes(memory.AsSpan(at), v);
        U32(0x1000, magic); U32(0x1004, 1); U32(0x100c, 1);
        U64(0x1010, 0x3000); U64(0x1018, 0x4000); U64(0x1028, 0x2000); U32(0x1030, 3);
        U64(0x2000, 0); U64(0x2008, 0x9fc00); U32(0x2010, 1);
        U64(0x2018, 0x100000); U64(0x2020, 0x7f00000); U32(0x2028, 1);
        U64(0x2030, 0x7ff0000); U64(0x2038, 0x10000); U32(0x2040, 2);
        U64(0x3000, 0x7000000); U64(0x3008, 12345);
        "libra.selftest=clock\0"u8.CopyTo(memory.AsSpan(0x4000));
        return memory;
    }

    [Fact]
    public void Parse_reads_memory_map_modules_and_command_line()
    {
        fixed (byte* physical = PhysicalMemory())
        {
            Assert.Equal(Pvh.Error.None, Pvh.Parse(physical, 0x1000, out BootInfo info));
            Assert.Equal(0x4000ul, info.CommandLinePhysical);
            Assert.Equal(1, info.ModuleCount);
            Assert.Equal(0x7000000ul, info.ModulePhysical[0]);
            Assert.Equal(12345ul, info.ModuleSize[0]);
            Assert.Equal(3, info.Memory.Count);
            Assert.Equal(0x9fc00ul + 0x7ef0000ul, info.Memory.UsableBytes);
        }
    }

    [Fact]
    public void Parse_rejects_a_start_info_without_the_PVH_magic()
    {
        fixed (byte* physical = PhysicalMemory(magic: 0x12345678))
            Assert.Equal(Pvh.Error.BadMagic, Pvh.Parse(physical, 0x1000, out _));
    }
}
