using System.Text;

namespace Libra.Qemu;

// The kernel command line that carries an application's name, environment and arguments
// (LibraKernel/Loader/AppArguments.cs reads it back): `libra.app=NAME`, `libra.env=NAME=VALUE`
// per variable, and the arguments after a lone `--`, each %XX-escaped where a byte is not plain.
// With a bare ELF, NAME is the executable's file name; in an image (keepAppPath) it is the
// absolute path inside the image. Arguments (after `--`) replace an image's default ones.
public static class AppCommandLine
{
    public static string Build(string options, string? app, IEnumerable<string> environment, IEnumerable<string> arguments, bool traceSyscalls, bool keepAppPath = false)
    {
        var line = new StringBuilder(options);
        void Word(string word) { if (line.Length > 0) line.Append(' '); line.Append(word); }
        if (traceSyscalls) Word("libra.trace=syscalls");
        if (app is not null) Word("libra.app=" + Escape(keepAppPath ? app : Path.GetFileName(app)));
        foreach (var pair in environment) Word("libra.env=" + Escape(pair));
        var list = arguments.ToList();
        if (list.Count > 0)
        {
            Word("--");
            foreach (var argument in list) Word(argument.Length == 0 ? "%00" : Escape(argument));
        }
        return line.ToString();
    }

    public static string Escape(string text)
    {
        var escaped = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            if (b > 0x20 && b < 0x7f && b != '%' && b != '"' && b != '\'') escaped.Append((char)b);
            else escaped.Append('%').Append(b.ToString("X2"));
        }
        return escaped.ToString();
    }

    // Kernel log lines a user of `run` sees even without --verbose: why the application could not
    // start (or that there was none: every "cannot ..." the kernel says before it stops, an
    // unreadable image or a share it cannot mount among them), what killed it, and panics.
    public static bool IsAttention(string line) =>
        line.StartsWith(KernelLogPrefix + "cannot ", StringComparison.Ordinal) ||
        line.StartsWith(KernelLogPrefix + "9p: cannot ", StringComparison.Ordinal) ||
        line.Contains("no room for the frame bitmap", StringComparison.Ordinal) ||
        line.Contains("cannot run the application", StringComparison.Ordinal) ||
        line.Contains("no application to run", StringComparison.Ordinal) ||
        line.Contains("not enough memory", StringComparison.Ordinal) ||
        line.Contains("application killed by", StringComparison.Ordinal) ||
        line.Contains("PANIC", StringComparison.Ordinal) ||
        line.Contains("out of memory", StringComparison.Ordinal) ||
        line.StartsWith("libra: dump: ", StringComparison.Ordinal);

    // What the kernel's own log lines start with.
    public const string KernelLogPrefix = "libra: ";

    // A system call traced by libra.trace=syscalls: "libra: [TID] name(args) = result".
    public static bool IsTrace(string line) =>
        line.StartsWith(KernelLogPrefix + "[", StringComparison.Ordinal) && line.Contains(") = ", StringComparison.Ordinal);
}
