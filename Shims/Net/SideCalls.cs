namespace Libra.Shims.Net
{
    // What a call does alike to a guest TCP socket's state (SideSocket) and a UDP one's (SideDatagrams).
    internal static class SideCalls
    {
        // getsockopt(SO_ERROR), or a call returning the pending error: its value, cleared.
        internal static int TakeError(ref int soError)
        {
            int error = soError;
            soError = 0;
            return error;
        }

        // shutdown(how): SHUT_RD closes reading, SHUT_WR writing, SHUT_RDWR both.
        internal static void Shutdown(int how, ref bool readShut, ref bool writeShut)
        {
            if (how != SideProtocol.SHUT_WR) readShut = true;
            if (how != SideProtocol.SHUT_RD) writeShut = true;
        }

        // The CREDIT to send now: everything consumed once it reaches `threshold` (a quarter of the
        // window keeps frames few and the Side reading), else 0.
        internal static uint TakeCredit(ref uint uncredited, uint threshold)
        {
            if (uncredited == 0 || uncredited < threshold) return 0;
            uint credit = uncredited;
            uncredited = 0;
            return credit;
        }
    }
}
