namespace Libra.Arch.X64
{
    // SYSCALL/SYSRET setup (Intel SDM vol. 3A §5.8.8): where SYSCALL goes, which selectors it loads,
    // and the RFLAGS bits it clears so the kernel starts with interrupts off and DF clear.
    internal static unsafe class SystemCallEntry
    {
        private const uint MsrStar = 0xc0000081, MsrLstar = 0xc0000082, MsrFmask = 0xc0000084;
        private const ulong FlagsCleared = 0x100 | 0x200 | 0x400 | 0x4000 | 0x40000;   // TF, IF, DF, NT, AC

        internal static void Initialize()
        {
            ulong* entries = stackalloc ulong[2];
            Native.GetEntryPoints(entries);
            // SYSCALL: CS = STAR[47:32], SS = +8. SYSRET: SS = STAR[63:48] + 8, CS = + 16 (RPL 3).
            ulong sysretBase = (ulong)(Gdt.UserData & ~3) - 8;
            Native.WriteMsr(MsrStar, ((ulong)Gdt.KernelCode << 32) | (sysretBase << 48));
            Native.WriteMsr(MsrLstar, entries[0]);
            Native.WriteMsr(MsrFmask, FlagsCleared);
        }
    }
}
