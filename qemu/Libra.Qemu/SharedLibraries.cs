using System.Diagnostics;

namespace Libra.Qemu;

// What a static program that calls dlopen needs in its image (`image --library NAME|PATH`): the
// library, the shared libraries it depends on (as the host's ldd lists them: libc.so.6 and the
// dynamic loader among them, which glibc's static dlopen loads too), each at the path the host has
// it, and /etc/ld.so.cache, where dlopen looks a bare name up. A path that is a symbolic link on the
// host is one in the image too, to the file's real path.
public static class SharedLibraries
{
    public sealed record File(string GuestPath, string HostPath);

    public sealed record Link(string GuestPath, string Target);

    public sealed record Set(IReadOnlyList<File> Files, IReadOnlyList<Link> Links);

    public const string LoaderCache = "/etc/ld.so.cache";

    // The files and links for `libraries` (sonames such as libz.so.1, found through `ldconfig -p`,
    // or host paths); throws ArgumentException with the reason when one cannot be found.
    public static Set Resolve(IEnumerable<string> libraries)
    {
        var paths = new List<string>();
        foreach (string library in libraries)
        {
            string path = library.Contains('/') ? Path.GetFullPath(library) : FindInCache(library);
            if (!System.IO.File.Exists(path)) throw new ArgumentException($"library '{library}' does not exist");
            paths.Add(path);
            paths.AddRange(Dependencies(path));
        }
        var files = new List<File>();
        var links = new List<Link>();
        foreach (string path in paths.Distinct())
        {
            string real = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
            if (real != path) links.Add(new Link(path, real));
            if (!files.Any(f => f.GuestPath == real)) files.Add(new File(real, real));
        }
        if (paths.Count > 0 && System.IO.File.Exists(LoaderCache)) files.Add(new File(LoaderCache, LoaderCache));
        return new Set(files, links.Where(l => !files.Any(f => f.GuestPath == l.GuestPath)).DistinctBy(l => l.GuestPath).ToList());
    }

    // A soname's path from the host's loader cache ("\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1").
    private static string FindInCache(string soname)
    {
        // ldconfig lives in /sbin, which a normal user's PATH often lacks.
        string ldconfig = System.IO.File.Exists("/sbin/ldconfig") ? "/sbin/ldconfig" : "/usr/sbin/ldconfig";
        foreach (string line in Run(ldconfig, "-p").Split('\n'))
        {
            string text = line.Trim();
            if (!text.StartsWith(soname + " (", StringComparison.Ordinal) || !text.Contains("x86-64", StringComparison.Ordinal)) continue;
            int arrow = text.IndexOf("=> ", StringComparison.Ordinal);
            if (arrow > 0) return text[(arrow + 3)..];
        }
        throw new ArgumentException($"library '{soname}' is not in the host's loader cache (ldconfig -p); give its path");
    }

    // The shared libraries `path` loads, as ldd lists them ("libc.so.6 => /lib/.../libc.so.6 (0x...)",
    // "/lib64/ld-linux-x86-64.so.2 (0x...)"); the vDSO is not a file.
    private static IEnumerable<string> Dependencies(string path)
    {
        foreach (string line in Run("ldd", path).Split('\n'))
        {
            string text = line.Trim();
            if (text.Contains("not found", StringComparison.Ordinal)) throw new ArgumentException($"library '{path}' needs {text}");
            int arrow = text.IndexOf("=> ", StringComparison.Ordinal);
            string candidate = arrow >= 0 ? text[(arrow + 3)..] : text;
            int space = candidate.IndexOf(" (", StringComparison.Ordinal);
            if (space > 0) candidate = candidate[..space];
            if (candidate.StartsWith('/')) yield return candidate;
        }
    }

    private static string Run(string exe, string argument)
    {
        var info = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new ArgumentException($"cannot run {exe}");
        string output = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return output;
    }
}
