// files: real file work in the directory given as the first argument (natively a temp dir, on Libra
// the exported directory): create, write and read back, seek, append, truncate, rename, delete,
// directories, sorted listings, sizes and modes, a 64 MiB file with a checksum, 2,000 small files,
// 8 threads reading at once, and the errors .NET turns into exceptions. Paths are never printed, so
// the output is the same wherever the directory is; what it leaves behind is compared too.
using System.Text;
using Libra.Probes;

if (args.Length < 1) { Console.Error.WriteLine("usage: files <directory> [--big-mib N]"); return 2; }
string root = args[0];
if (args.Length >= 2 && args[1] == "--containment") return Containment(root);
if (args.Length >= 2 && args[1] == "--resilience") return Resilience(root);
if (args.Length >= 2 && args[1] == "--measure") return Measure(root, args.Length >= 3 ? int.Parse(args[2]) : 64);
int bigMiB = args.Length >= 3 && args[1] == "--big-mib" ? int.Parse(args[2]) : 64;
Directory.SetCurrentDirectory(root);
string work = Path.Combine(root, "work");
Directory.CreateDirectory(work);

// Create, write, read back.
string a = Path.Combine(work, "a.txt");
File.WriteAllText(a, "hello, files\n");
Probe.Check("write then read back", File.ReadAllText(a) == "hello, files\n");
Probe.Check("size after write is 13", new FileInfo(a).Length == 13);

// Seek and overwrite in place.
using (var s = new FileStream(a, FileMode.Open, FileAccess.ReadWrite))
{
    s.Seek(7, SeekOrigin.Begin);
    s.Write("FILES"u8);
    s.Seek(-6, SeekOrigin.End);
    var five = new byte[5];
    s.ReadExactly(five);
    Probe.Check("seek, overwrite, seek from end, read", Encoding.ASCII.GetString(five) == "FILES");
}
Probe.Check("content after overwrite", File.ReadAllText(a) == "hello, FILES\n");

// Append.
File.AppendAllText(a, "more\n");
File.AppendAllText(a, "and more\n");
Probe.Check("append twice", File.ReadAllText(a) == "hello, FILES\nmore\nand more\n");

// Truncate and extend.
using (var s = new FileStream(a, FileMode.Open, FileAccess.ReadWrite)) s.SetLength(5);
Probe.Check("truncate to 5 bytes", File.ReadAllText(a) == "hello");
using (var s = new FileStream(a, FileMode.Open, FileAccess.ReadWrite)) s.SetLength(8);
Probe.Check("extend with zeros", File.ReadAllBytes(a).AsSpan(5).SequenceEqual(new byte[3]));

// Rename, copy, delete.
string b = Path.Combine(work, "b.txt");
File.Move(a, b);
Probe.Check("rename: old name gone, new name there", !File.Exists(a) && File.Exists(b));
File.Copy(b, a);
Probe.Check("copy has the same bytes", File.ReadAllBytes(a).AsSpan().SequenceEqual(File.ReadAllBytes(b)));
File.Delete(a);
Probe.Check("delete", !File.Exists(a));
File.Move(b, a, overwrite: true);

// Directories and sorted listings.
string d = Path.Combine(work, "dir");
Directory.CreateDirectory(Path.Combine(d, "sub", "deeper"));
foreach (var name in new[] { "zeta", "alpha", "Mid", "beta.txt" }) File.WriteAllText(Path.Combine(d, name), name);
var listing = Directory.GetFileSystemEntries(d).Select(Path.GetFileName).Order(StringComparer.Ordinal);
Probe.Line("listing: " + string.Join(" ", listing));
Probe.Check("nested directories exist", Directory.Exists(Path.Combine(d, "sub", "deeper")));
Directory.Delete(Path.Combine(d, "sub", "deeper"));
Probe.Check("rmdir of an empty directory", !Directory.Exists(Path.Combine(d, "sub", "deeper")));
var files = Directory.GetFiles(d, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(d, p)).Order(StringComparer.Ordinal);
Probe.Line("recursive files: " + string.Join(" ", files));

// Sizes and modes.
string exe = Path.Combine(work, "tool.sh");
File.WriteAllText(exe, "#!/bin/sh\n");
File.SetUnixFileMode(exe, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
Probe.Line($"mode of tool.sh: {Convert.ToString((int)File.GetUnixFileMode(exe), 8)}");
Probe.Line($"size of tool.sh: {new FileInfo(exe).Length}");
Probe.Check("a directory is a directory", (File.GetAttributes(d) & FileAttributes.Directory) != 0);

// A big file, written and read back in 1 MiB pieces, with a checksum (not a cryptographic hash:
// .NET's hashes need OpenSSL, which a static executable loads from files it may not have).
string big = Path.Combine(work, "big.bin");
byte[] chunk = new byte[1 << 20];
ulong writtenSum = Checksum.Start, readSum = Checksum.Start;
using (var s = new FileStream(big, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
    for (int i = 0; i < bigMiB; i++)
    {
        for (int j = 0; j < chunk.Length; j += 4096) chunk[j] = (byte)(i * 7 + j / 4096);
        s.Write(chunk);
        writtenSum = Checksum.Add(writtenSum, chunk);
    }
using (var s = new FileStream(big, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
{
    int n, filled = 0;
    while ((n = s.Read(chunk, filled, chunk.Length - filled)) > 0)
    {
        filled += n;
        if (filled == chunk.Length) { readSum = Checksum.Add(readSum, chunk); filled = 0; }
    }
    if (filled > 0) readSum = Checksum.Add(readSum, chunk.AsSpan(0, filled));
}
Probe.Check($"{bigMiB} MiB file reads back with the same checksum", writtenSum == readSum);
Probe.Line($"checksum of the big file: {writtenSum:x16}");
Probe.Check("big file size", new FileInfo(big).Length == (long)bigMiB << 20);

// Many small files.
string many = Path.Combine(work, "many");
Directory.CreateDirectory(many);
for (int i = 0; i < 2000; i++) File.WriteAllText(Path.Combine(many, $"f{i:D4}"), i.ToString());
var names = Directory.GetFiles(many).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
Probe.Check("2,000 small files listed", names.Length == 2000 && names[0] == "f0000" && names[^1] == "f1999");
Probe.Check("2,000 small files stat and read", Enumerable.Range(0, 2000).All(i =>
{
    string p = Path.Combine(many, $"f{i:D4}");
    return new FileInfo(p).Length == i.ToString().Length && File.ReadAllText(p) == i.ToString();
}));

// Eight threads reading the big file at once, each a different region.
var sums = new long[8];
var readers = Enumerable.Range(0, 8).Select(t => new Thread(() =>
{
    using var s = new FileStream(big, FileMode.Open, FileAccess.Read, FileShare.Read);
    var buffer = new byte[1 << 16];
    long offset = (long)t * (bigMiB << 20) / 8, end = (long)(t + 1) * (bigMiB << 20) / 8;
    s.Seek(offset, SeekOrigin.Begin);
    long sum = 0;
    while (offset < end)
    {
        int n = s.Read(buffer, 0, (int)Math.Min(buffer.Length, end - offset));
        if (n == 0) break;
        for (int k = 0; k < n; k++) sum += buffer[k];
        offset += n;
    }
    sums[t] = sum;
})).ToArray();
foreach (var r in readers) r.Start();
foreach (var r in readers) r.Join();
long expected = 0;
foreach (byte x in File.ReadAllBytes(big)) expected += x;
Probe.Check("8 concurrent readers see the same bytes", sums.Sum() == expected);

// Symbolic links: made, read through, and read back.
string link = Path.Combine(work, "link-to-a");
File.CreateSymbolicLink(link, "a.txt");
Probe.Check("read through a relative symbolic link", File.ReadAllBytes(link).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(work, "a.txt"))));
Probe.Check("the link's target reads back", new FileInfo(link).LinkTarget == "a.txt");
File.Delete(link);
Probe.Check("deleting the link keeps its target", !File.Exists(link) && File.Exists(Path.Combine(work, "a.txt")));

// File-backed mappings: read-only, and copy-on-write (writes stay in memory, the file keeps its bytes).
string mapped = Path.Combine(work, "mapped.bin");
byte[] pattern = Enumerable.Range(0, 10_000).Select(i => (byte)(i * 31 + 7)).ToArray();
File.WriteAllBytes(mapped, pattern);
using (var map = System.IO.MemoryMappedFiles.MemoryMappedFile.CreateFromFile(mapped, FileMode.Open, null, 0, System.IO.MemoryMappedFiles.MemoryMappedFileAccess.Read))
using (var view = map.CreateViewAccessor(0, 0, System.IO.MemoryMappedFiles.MemoryMappedFileAccess.Read))
{
    var seen = new byte[pattern.Length];
    view.ReadArray(0, seen, 0, seen.Length);
    Probe.Check("read-only mapping shows the file's bytes", seen.AsSpan().SequenceEqual(pattern));
}
using (var map = System.IO.MemoryMappedFiles.MemoryMappedFile.CreateFromFile(mapped, FileMode.Open, null, 0, System.IO.MemoryMappedFiles.MemoryMappedFileAccess.CopyOnWrite))
using (var view = map.CreateViewAccessor(0, 0, System.IO.MemoryMappedFiles.MemoryMappedFileAccess.CopyOnWrite))
{
    view.Write(100, (byte)0xee);
    Probe.Check("copy-on-write mapping takes a write", view.ReadByte(100) == 0xee && view.ReadByte(101) == pattern[101]);
}
Probe.Check("the file keeps its bytes after a copy-on-write change", File.ReadAllBytes(mapped).AsSpan().SequenceEqual(pattern));
File.Delete(mapped);

// Errors as .NET reports them.
Probe.Check("missing file -> FileNotFoundException", Throws<FileNotFoundException>(() => File.ReadAllText(Path.Combine(work, "nope"))));
Probe.Check("missing directory -> DirectoryNotFoundException", Throws<DirectoryNotFoundException>(() => File.ReadAllText(Path.Combine(work, "nodir", "x"))));
Probe.Check("create-new over an existing file -> IOException", Throws<IOException>(() => new FileStream(Path.Combine(work, "a.txt"), FileMode.CreateNew).Dispose()));
Probe.Check("file used as a directory -> IOException", Throws<IOException>(() => File.WriteAllText(Path.Combine(work, "a.txt", "x"), "x")));
Probe.Check("opening a directory as a file -> UnauthorizedAccessException", Throws<UnauthorizedAccessException>(() => File.ReadAllText(d)));
Probe.Check("rmdir of a non-empty directory -> IOException", Throws<IOException>(() => Directory.Delete(d)));
Probe.Check("deleting a missing file is not an error", () => { File.Delete(Path.Combine(work, "nope")); return true; });

// Clean-up that leaves a known tree behind for the final comparison.
File.Delete(big);
Directory.Delete(many, recursive: true);
return Probe.Finish("files");

// Throughput figures for build.ps1 filebench (not a check): sequential write and read of a file in
// 1 MiB pieces, and stat calls on small files, printed as "name value unit".
static int Measure(string root, int mib)
{
    string path = Path.Combine(root, "measure.bin");
    var chunk = new byte[1 << 20];
    new Random(1).NextBytes(chunk);
    var clock = System.Diagnostics.Stopwatch.StartNew();
    using (var s = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1))
    {
        for (int i = 0; i < mib; i++) s.Write(chunk);
        s.Flush(flushToDisk: true);
    }
    double write = mib / clock.Elapsed.TotalSeconds;
    clock.Restart();
    using (var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None, 1))
        while (s.Read(chunk) > 0) { }
    double read = mib / clock.Elapsed.TotalSeconds;
    File.Delete(path);
    string dir = Path.Combine(root, "measure-small");
    Directory.CreateDirectory(dir);
    for (int i = 0; i < 200; i++) File.WriteAllText(Path.Combine(dir, $"f{i}"), "x");
    clock.Restart();
    int stats = 0;
    while (clock.ElapsedMilliseconds < 1000)
        for (int i = 0; i < 200; i++, stats++) _ = new FileInfo(Path.Combine(dir, $"f{i}")).Length;
    double statRate = stats / clock.Elapsed.TotalSeconds;
    Directory.Delete(dir, recursive: true);
    Console.WriteLine($"sequential-write {write:F1} MB/s");
    Console.WriteLine($"sequential-read {read:F1} MB/s");
    Console.WriteLine($"small-file-stat {statRate:F0} ops/s");
    return 0;
}

// Reads one file over and over, counting the reads that fail (a test spoils one reply on the way),
// then reads another: a failed call must not take the rest of the file system with it.
static int Resilience(string root)
{
    string a = Path.Combine(root, "a"), b = Path.Combine(root, "b");
    File.WriteAllText(a, "aaaa");
    File.WriteAllText(b, "bbbb");
    int failed = 0, good = 0;
    for (int i = 0; i < 6; i++)
    {
        try { if (File.ReadAllText(a) == "aaaa") good++; }
        catch (IOException) { failed++; }
    }
    Probe.Line($"reads of a: {good} good, {failed} failed");
    Probe.Line("b after that: " + File.ReadAllText(b));
    return 0;
}

// Tries to read outside `root` every way a path can: "..", absolute and relative symbolic links,
// an over-long name. Prints what each attempt got; on Libra none may reach the host's files.
static int Containment(string root)
{
    string Try(string path)
    {
        try { return "read \"" + File.ReadAllText(path).Trim() + "\""; }
        catch (Exception e) { return e.GetType().Name; }
    }
    Directory.SetCurrentDirectory(root);
    Probe.Line("dot-dot: " + Try("../outside/secret"));
    Probe.Line("rooted dot-dot: " + Try("/../../outside/secret"));
    Probe.Line("absolute link: " + Try(Path.Combine(root, "link-absolute")));
    Probe.Line("relative link: " + Try(Path.Combine(root, "link-relative")));
    Probe.Line("absolute directory link: " + Try(Path.Combine(root, "dir-absolute", "secret")));
    Probe.Line("relative directory link: " + Try(Path.Combine(root, "dir-relative", "secret")));
    Probe.Line("inside: " + Try(Path.Combine(root, "inside")));
    Probe.Line("through a link inside: " + Try(Path.Combine(root, "sub-link", "file")));
    Probe.Line("long path: " + Try(Path.Combine(root, new string('a', 300), new string('b', 5000))));
    return 0;
}

static bool Throws<T>(Action action) where T : Exception
{
    try { action(); return false; }
    catch (T) { return true; }
    catch (Exception e) { Console.Error.WriteLine($"expected {typeof(T).Name}, got {e.GetType().Name}: {e.Message}"); return false; }
}

static class Checksum
{
    public const ulong Start = 0xcbf29ce484222325;

    // FNV-1a over 8-byte words (the length is always a multiple of 8 here).
    public static ulong Add(ulong hash, ReadOnlySpan<byte> data)
    {
        foreach (ulong word in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(data))
            hash = (hash ^ word) * 0x100000001b3;
        return hash;
    }
}
