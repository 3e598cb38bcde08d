using System.Text;

namespace Libra.Qemu;

// Writes a newc cpio archive, the format Linux's initramfs reads and a Libra image is made of
// (docs/image.md): per entry a 110-byte ASCII header ("070701" and thirteen 8-digit hex fields),
// the name with its NUL, padding to 4 bytes, the data, padding to 4; "TRAILER!!!" last
// (Linux Documentation/driver-api/early-userspace/buffer-format.rst).
public sealed class CpioWriter : IDisposable
{
    public const string Magic = "070701";
    public const string TrailerName = "TRAILER!!!";
    // st_mode's file type bits (inode(7)).
    public const uint RegularFile = 0x8000, Directory = 0x4000, SymbolicLink = 0xa000;

    private readonly Stream _output;
    private readonly bool _ownsOutput;
    private uint _nextInode = 1;
    private bool _finished;

    public CpioWriter(Stream output, bool ownsOutput = true)
    {
        _output = output;
        _ownsOutput = ownsOutput;
    }

    public long Position { get; private set; }

    public void AddDirectory(string name, uint permissions = 0x1ed) =>
        AddEntry(name, Directory | permissions, nlink: 2, []);

    public void AddFile(string name, ReadOnlySpan<byte> data, uint permissions = 0x1a4) =>
        AddEntry(name, RegularFile | permissions, nlink: 1, data);

    // A symbolic link's data is its target, without a NUL.
    public void AddSymbolicLink(string name, string target) =>
        AddEntry(name, SymbolicLink | 0x1ff, nlink: 1, Encoding.UTF8.GetBytes(target));

    public void AddEntry(string name, uint mode, uint nlink, ReadOnlySpan<byte> data, uint mtime = 0)
    {
        if (_finished) throw new InvalidOperationException("the archive is already finished");
        CheckName(name);
        WriteEntry(_nextInode++, name, mode, nlink, mtime, data);
    }

    // Writes the trailer; the archive is complete.
    public void Finish()
    {
        if (_finished) return;
        WriteEntry(0, TrailerName, 0, 1, 0, []);
        _output.Flush();
        _finished = true;
    }

    // Names are relative ("app/hello"), as initramfs archives hold them; "." and ".." never appear.
    private static void CheckName(string name)
    {
        if (name.Length == 0 || name.StartsWith('/') || name.EndsWith('/') || name == TrailerName || name.Contains('\0') ||
            name.Split('/').Any(part => part is "" or "." or ".."))
            throw new ArgumentException($"'{name}' is not a relative path without '.', '..' or empty parts", nameof(name));
    }

    private void WriteEntry(uint inode, string name, uint mode, uint nlink, uint mtime, ReadOnlySpan<byte> data)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name + "\0");
        var header = new StringBuilder(Magic, 110);
        // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
        foreach (uint field in new[] { inode, mode, 0u, 0u, nlink, mtime, (uint)data.Length, 0u, 0u, 0u, 0u, (uint)nameBytes.Length, 0u })
            header.Append(field.ToString("x8"));
        Write(Encoding.ASCII.GetBytes(header.ToString()));
        Write(nameBytes);
        Pad();
        Write(data);
        Pad();
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        Position += bytes.Length;
    }

    private void Pad()
    {
        while (Position % 4 != 0) Write([0]);
    }

    public void Dispose()
    {
        Finish();
        if (_ownsOutput) _output.Dispose();
    }
}
