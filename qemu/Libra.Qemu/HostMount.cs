namespace Libra.Qemu;

// One `--mount HOSTDIR:GUESTDIR[:ro]`: a host directory the guest sees at GUESTDIR, through a
// virtio-9p device of its own (QEMU's 9P server, mount tag Tag) that the kernel mounts where
// `libra.mount=TAG:ro|rw:GUESTDIR` says (docs/image.md). `--share DIR` stays the root.
public sealed record HostMount(string HostDirectory, string GuestDirectory, bool ReadOnly)
{
    // Parses HOSTDIR:GUESTDIR[:ro|:rw], as docker's -v does; GUESTDIR is absolute and comes out
    // normalized. Null with the reason when the words cannot be a mount (the host directory is
    // checked apart: Problem).
    public static HostMount? Parse(string spec, out string? problem)
    {
        problem = null;
        bool readOnly = false;
        string rest = spec;
        if (rest.EndsWith(":ro", StringComparison.Ordinal)) { readOnly = true; rest = rest[..^3]; }
        else if (rest.EndsWith(":rw", StringComparison.Ordinal)) rest = rest[..^3];
        int colon = rest.LastIndexOf(":/", StringComparison.Ordinal);
        if (colon <= 0)
        {
            problem = $"--mount expects HOSTDIR:GUESTDIR[:ro] with an absolute GUESTDIR, not '{spec}'";
            return null;
        }
        string? guest = NormalizeGuestPath(rest[(colon + 1)..]);
        if (guest is null)
        {
            problem = $"--mount '{spec}': the guest directory must be absolute, without '.' or '..', and not '/' (that is --share DIR)";
            return null;
        }
        return new HostMount(rest[..colon], guest, readOnly);
    }

    // "/data//x/" -> "/data/x"; null for "/", a relative path or one with "." or ".." in it.
    public static string? NormalizeGuestPath(string path)
    {
        if (!path.StartsWith('/')) return null;
        var names = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0 || names.Any(n => n is "." or "..")) return null;
        string normalized = "/" + string.Join('/', names);
        return normalized.Length < 256 ? normalized : null;
    }

    // Why the host side cannot be mounted (missing, or a file), or null.
    public string? Problem() =>
        Directory.Exists(HostDirectory) ? null
        : File.Exists(HostDirectory) ? $"mount source '{HostDirectory}' is a file, not a directory"
        : $"mount source '{HostDirectory}' does not exist";

    // The virtio-9p mount tag of mount number `index` (0-based); the share's is "libra".
    public static string Tag(int index) => $"libra.m{index + 1}";

    // The kernel's option for mount number `index`.
    public string KernelOption(int index) => $"libra.mount={Tag(index)}:{(ReadOnly ? "ro" : "rw")}:{AppCommandLine.Escape(GuestDirectory)}";
}
