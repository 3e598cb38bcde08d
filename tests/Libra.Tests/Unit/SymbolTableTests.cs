using System.Runtime.InteropServices;
using System.Text;
using Libra.Diagnostics;
using Xunit;

namespace Libra.Tests.Unit;

public unsafe class SymbolTableTests
{
    // Builds a .ksyms blob the way build/kernel.ps1 does.
    internal static byte[] Blob(params (ulong Address, uint Size, string Name)[] symbols)
    {
        var names = new MemoryStream();
        var body = new MemoryStream();
        var writer = new BinaryWriter(body);
        writer.Write(SymbolTable.Magic);
        writer.Write((uint)symbols.Length);
        uint nameBase = (uint)(SymbolTable.HeaderSize + SymbolTable.EntrySize * symbols.Length);
        foreach (var s in symbols.OrderBy(s => s.Address))
        {
            writer.Write(s.Address);
            writer.Write(nameBase + (uint)names.Length);
            writer.Write(s.Size);
            names.Write(Encoding.ASCII.GetBytes(s.Name + "\0"));
        }
        writer.Write(names.ToArray());
        return body.ToArray();
    }

    private static string? Lookup(byte[] blob, ulong address, out ulong offset)
    {
        fixed (byte* p = blob)
        {
            var table = new SymbolTable(p, (ulong)blob.Length);
            if (!table.Lookup(address, out byte* name, out offset)) return null;
            return Marshal.PtrToStringAnsi((IntPtr)name);
        }
    }

    private static readonly byte[] s_table = Blob(
        (0xffffffff80106000, 0x40, "kmain"),
        (0xffffffff80106040, 0x20, "Panic__Halt"),
        (0xffffffff80106100, 0, "asm_without_size"));

    [Fact]
    public void Address_inside_a_function_names_it_with_the_offset()
    {
        Assert.Equal("Panic__Halt", Lookup(s_table, 0xffffffff80106051, out ulong offset));
        Assert.Equal(0x11ul, offset);
        Assert.Equal("kmain", Lookup(s_table, 0xffffffff80106000, out offset));
        Assert.Equal(0ul, offset);
    }

    [Fact]
    public void Address_past_a_sized_function_or_before_the_first_has_no_symbol()
    {
        Assert.Null(Lookup(s_table, 0xffffffff80106060, out _));
        Assert.Null(Lookup(s_table, 0xffffffff80105fff, out _));
    }

    [Fact]
    public void Symbol_without_size_covers_everything_up_to_the_next()
    {
        Assert.Equal("asm_without_size", Lookup(s_table, 0xffffffff80106fff, out ulong offset));
        Assert.Equal(0xeffuL, offset);
    }

    [Fact]
    public void Blob_with_a_bad_magic_or_truncated_entries_is_not_used()
    {
        var bad = (byte[])s_table.Clone();
        bad[0] ^= 0xff;
        Assert.Null(Lookup(bad, 0xffffffff80106000, out _));
        Assert.Null(Lookup(s_table[..20], 0xffffffff80106000, out _));
    }
}
