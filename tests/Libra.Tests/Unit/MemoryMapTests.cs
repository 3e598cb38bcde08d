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

public class MemoryMapPropertyTests
{
    // Random e820-like maps (usable and reserved ranges overlapping any way, in any order) against one
    // flag per unit: after Normalize a unit is usable exactly when some usable range covers it and no
    // other range does; entries are sorted, usable ones neither overlap nor touch anything that
    // should have merged, and UsableBytes/UsableTop agree. A map that ran out of entries while
    // splitting (Truncated) may drop usable memory, never invent it.
    [Theory]
    [InlineData(1, 6)]
    [InlineData(2, 12)]
    [InlineData(3, 24)]
    [InlineData(4, 40)]
    public void Normalize_matches_a_per_unit_model(int seed, int maxEntries)
    {
        const int units = 512;
        const ulong Unit = 0x1000;
        PropertyRun.Steps(seed, 2000, (random, step) =>
        {
            var map = new MemoryMap();
            var usableCover = new bool[units];
            var otherCover = new bool[units];
            int entries = 1 + random.Next(maxEntries);
            for (int e = 0; e < entries; e++)
            {
                int first = random.Next(units), count = 1 + random.Next(random.Next(3) == 0 ? units - first : Math.Min(32, units - first));
                var kind = random.Next(3) == 0 ? (MemoryKind)random.Next(2, 8) : MemoryKind.Usable;
                Assert.True(map.Add((ulong)first * Unit, (ulong)count * Unit, kind));
                for (int u = first; u < first + count; u++) (kind == MemoryKind.Usable ? usableCover : otherCover)[u] = true;
            }
            map.Normalize();

            var usable = new bool[units];
            ulong top = 0, bytes = 0;
            for (int i = 0; i < map.Count; i++)
            {
                Assert.True(map.Length(i) > 0, $"entry {i} is empty");
                if (i > 0) Assert.True(map.Base(i - 1) <= map.Base(i), $"entries {i - 1} and {i} are out of order");
                if (map.Kind(i) != MemoryKind.Usable) continue;
                bytes += map.Length(i);
                top = Math.Max(top, map.End(i));
                for (ulong u = map.Base(i) / Unit; u < map.End(i) / Unit; u++)
                {
                    Assert.False(usable[u], $"unit {u} is in two usable entries");
                    usable[u] = true;
                }
                for (int j = 0; j < map.Count; j++)
                {
                    if (j == i) continue;
                    bool touches = map.Base(j) <= map.End(i) && map.Base(i) <= map.End(j);
                    if (map.Kind(j) == MemoryKind.Usable) Assert.False(touches, $"usable entries {i} and {j} touch but were not merged");
                    else Assert.False(map.Base(j) < map.End(i) && map.Base(i) < map.End(j), $"usable entry {i} overlaps reserved entry {j}");
                }
            }
            Assert.Equal(bytes, map.UsableBytes);
            Assert.Equal(top, map.UsableTop);
            bool full = map.Truncated;
            for (int u = 0; u < units; u++)
            {
                bool expected = usableCover[u] && !otherCover[u];
                if (full) Assert.True(!usable[u] || expected, $"unit {u} is usable but reserved or never given");
                else Assert.True(usable[u] == expected, $"unit {u}: usable={usable[u]}, model {expected}");
            }
        });
    }
}
