using System.Text.RegularExpressions;

namespace Libra.Tests.Side;

// The network link's line in the kernel's exit report (Shims/Net/NetworkLink.Report):
//   side: N frames out, M in; K socket(s) open at exit holding B receive block(s); kernel heap X KiB
//   in use, Y KiB when the link came up, peak Z KiB
internal sealed partial record LinkExitReport(long FramesOut, long FramesIn, long OpenSockets, long ReceiveBlocks,
    long HeapKiB, long HeapAtLinkKiB, long HeapPeakKiB)
{
    [GeneratedRegex(@"side: (\d+) frames out, (\d+) in; (\d+) socket\(s\) open at exit holding (\d+) receive block\(s\); kernel heap (\d+) KiB in use, (\d+) KiB when the link came up, peak (\d+) KiB")]
    private static partial Regex Line();

    // The report in a boot's kernel log, or null when there is none.
    internal static LinkExitReport? In(string log)
    {
        Match m = Line().Match(log);
        if (!m.Success) return null;
        long Field(int i) => long.Parse(m.Groups[i].Value);
        return new LinkExitReport(Field(1), Field(2), Field(3), Field(4), Field(5), Field(6), Field(7));
    }
}
