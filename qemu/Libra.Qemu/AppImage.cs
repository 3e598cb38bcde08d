namespace Libra.Qemu;

// A Libra image (docs/image.md): a newc cpio archive holding the application at app/NAME and the
// default kernel command line in .libra/cmdline, which the kernel reads before the real one.
public static class AppImage
{
    public const string CommandLinePath = ".libra/cmdline";
    public const string AppDirectory = "app";

    public sealed record Entry(string Path, long Size);

    private static ReadOnlySpan<byte> ElfMagic => [0x7f, (byte)'E', (byte)'L', (byte)'F'];

    // Why `path` cannot be an image's application, or null when it can: the kernel loads a static
    // x86-64 ELF; anything else is refused here rather than at boot.
    public static string? ProblemWithApplication(string path)
    {
        if (Directory.Exists(path)) return $"'{path}' is a directory, not an executable";
        if (!File.Exists(path)) return $"'{path}' does not exist";
        Span<byte> header = stackalloc byte[20];
        using var file = File.OpenRead(path);
        if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length ||
            !header[..4].SequenceEqual(ElfMagic))
            return $"'{path}' is not an ELF executable";
        if (header[4] != 2 || BitConverter.ToUInt16(header[18..20]) != 62) return $"'{path}' is not an x86-64 (64-bit) executable";
        return null;
    }

    // Writes the image to `output` and returns what went in. The application keeps its file name
    // unless `name` says otherwise; `environment` (NAME=VALUE) and `arguments` become the defaults
    // that the run-time command line overrides; `libraries` (SharedLibraries.Resolve) go in at
    // their host paths, for a program that calls dlopen.
    public static IReadOnlyList<Entry> Write(string output, string application, string? name, IEnumerable<string> environment, IReadOnlyList<string> arguments,
        SharedLibraries.Set? libraries = null)
    {
        string appName = name ?? Path.GetFileName(application);
        string appPath = $"{AppDirectory}/{appName}";
        string commandLine = DefaultCommandLine(appPath, environment, arguments);
        byte[] appBytes = File.ReadAllBytes(application);
        byte[] lineBytes = System.Text.Encoding.UTF8.GetBytes(commandLine);
        var entries = new List<Entry> { new(appPath, appBytes.Length), new(CommandLinePath, lineBytes.Length) };
        using (var writer = new CpioWriter(File.Create(output)))
        {
            writer.AddDirectory(AppDirectory);
            writer.AddFile(appPath, appBytes, permissions: 0x1ed);
            writer.AddDirectory(".libra");
            writer.AddFile(CommandLinePath, lineBytes);
            if (libraries is not null) entries.AddRange(WriteLibraries(writer, libraries));
        }
        return entries;
    }

    // Each file and link under its directories (made once each, outermost first); names without the leading '/'.
    private static IEnumerable<Entry> WriteLibraries(CpioWriter writer, SharedLibraries.Set libraries)
    {
        var made = new HashSet<string>();
        void Directories(string guestPath)
        {
            string[] names = guestPath.TrimStart('/').Split('/');
            for (int i = 1; i < names.Length; i++)
            {
                string directory = string.Join('/', names[..i]);
                if (made.Add(directory)) writer.AddDirectory(directory);
            }
        }
        var entries = new List<Entry>();
        foreach (var file in libraries.Files)
        {
            Directories(file.GuestPath);
            byte[] bytes = File.ReadAllBytes(file.HostPath);
            writer.AddFile(file.GuestPath.TrimStart('/'), bytes, permissions: 0x1ed);
            entries.Add(new Entry(file.GuestPath.TrimStart('/'), bytes.Length));
        }
        foreach (var link in libraries.Links)
        {
            Directories(link.GuestPath);
            writer.AddSymbolicLink(link.GuestPath.TrimStart('/'), link.Target);
            entries.Add(new Entry($"{link.GuestPath.TrimStart('/')} -> {link.Target}", link.Target.Length));
        }
        return entries;
    }

    // One line of words separated by spaces, with no newline (the kernel splits on spaces only):
    // `libra.app=/app/NAME`, `libra.env=NAME=VALUE` per variable, then `-- ARG...` when there are arguments.
    public static string DefaultCommandLine(string appPath, IEnumerable<string> environment, IReadOnlyList<string> arguments) =>
        AppCommandLine.Build("", "/" + appPath, environment, arguments, traceSyscalls: false, keepAppPath: true);
}
