namespace Libra.Tests.Probes;

// The few ELF header facts the probe tests check: the file type and the program header kinds.
public sealed record Elf(ushort Type, bool HasInterpreter, bool HasDynamic)
{
    public const ushort Exec = 2, Dyn = 3;
    const uint PtDynamic = 2, PtInterp = 3;

    public static Elf Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F' || bytes[4] != 2)
            throw new InvalidDataException($"{path} is not a 64-bit ELF file");
        ushort type = BitConverter.ToUInt16(bytes, 16);
        ulong phoff = BitConverter.ToUInt64(bytes, 32);
        ushort phentsize = BitConverter.ToUInt16(bytes, 54), phnum = BitConverter.ToUInt16(bytes, 56);
        bool interp = false, dynamic = false;
        for (int i = 0; i < phnum; i++)
        {
            uint kind = BitConverter.ToUInt32(bytes, checked((int)phoff + i * phentsize));
            interp |= kind == PtInterp;
            dynamic |= kind == PtDynamic;
        }
        return new Elf(type, interp, dynamic);
    }
}
