namespace Libra.Shims.NineP
{
    // 9P2000.L over a byte stream (a virtio-serial port, a socket): messages are size[4] type[1]
    // tag[2] body, so FrameStream cuts them and hands each reply to the call waiting on its tag
    // (9P2000.L: "the server may answer out of order"). A reply larger than its call's buffer but
    // within MaxSkippable is read past and fails only that call with EIO; a size below the header or
    // beyond MaxSkippable breaks the stream, as Linux's p9_conn_cancel does.
    internal static class NinePStream
    {
        // The largest frame believed to be a real (if oversized) reply that can be skipped whole.
        internal const uint MaxSkippable = 16u << 20;

        internal static FrameFormat Format =>
            new FrameFormat(NinePProtocol.HeaderSize, NinePProtocol.HeaderSize, MaxSkippable, tagOffset: 5, tagBytes: 2);
    }
}
