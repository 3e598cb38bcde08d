using System.Text.RegularExpressions;

namespace Libra;

// Reads the clock self-test's "clock mark 1 at N ns; elapsed N ns; timer ticks N" line.
internal static partial class SelfTestsClock
{
    [GeneratedRegex(@"elapsed (\d+) ns; timer ticks (\d+)")]
    private static partial Regex Mark1();

    public static double GuestSeconds(string line) => long.Parse(Mark1().Match(line).Groups[1].Value) / 1e9;

    public static int Ticks(string line) => int.Parse(Mark1().Match(line).Groups[2].Value);
}
