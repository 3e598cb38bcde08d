using Libra.Memory;
using Libra.Time;

namespace Libra.Arch.X64
{
    // The local APIC in xAPIC mode (Intel SDM vol. 3A §11): its timer, armed one deadline at a time
    // (one-shot or TSC-deadline mode, never periodic: the kernel is tickless), and end-of-interrupt.
    // Its registers are MMIO, reached through the direct map.
    internal static unsafe class LocalApic
    {
        internal const int TimerVector = 0x20, SpuriousVector = 0xff;
        private const uint MsrApicBase = 0x1b, MsrTscDeadline = 0x6e0;
        private const int RegisterEoi = 0xb0, RegisterSpurious = 0xf0, RegisterLvtTimer = 0x320,
            RegisterInitialCount = 0x380, RegisterCurrentCount = 0x390, RegisterDivide = 0x3e0;
        // LVT timer mode, bits 18:17 (SDM vol. 3A §11.5.1): 00 one-shot, 10 TSC-deadline.
        private const uint TimerOneShot = 0, TimerTscDeadline = 2u << 17, Masked = 1u << 16;
        private const ulong NsPerSecond = 1_000_000_000;
        // The longest interval armed at once; a later deadline is reached by arming again when this fires.
        private const ulong LongestArmNs = NsPerSecond;
        private const ulong NotArmed = ulong.MaxValue;

        private static byte* s_registers;
        internal static ulong TimerHz;        // the timer's count rate (divide by 1); 0 in TSC-deadline mode
        internal static bool UsesTscDeadline;
        internal static ulong Interrupts;     // timer interrupts taken
        private static ulong s_armedFor;      // the deadline the timer is armed for, or NotArmed

        internal static bool Initialize()
        {
            if (!Cpu.HasApic) return false;
            ulong apicBase = Native.ReadMsr(MsrApicBase);
            Native.WriteMsr(MsrApicBase, apicBase | (1ul << 11));         // global enable
            s_registers = Layout.PhysicalToVirtual(apicBase & 0xfffff000);
            Write(RegisterSpurious, SpuriousVector | (1u << 8));          // software enable
            s_armedFor = NotArmed;
            return true;
        }

        // Sets the timer up in TSC-deadline mode when the CPU has it (SDM vol. 3A §11.5.4.1), else in
        // one-shot mode with its count rate measured against the calibrated clock (§11.5.4). Unarmed.
        internal static void StartTimer()
        {
            if (Cpu.HasTscDeadline)
            {
                Write(RegisterLvtTimer, TimerTscDeadline | TimerVector);
                // SDM §11.5.4.1: a fence orders the LVT write before the first IA32_TSC_DEADLINE write.
                Native.MemoryFence();
                UsesTscDeadline = true;
                return;
            }
            Write(RegisterDivide, 0xb);                                   // divide by 1 (SDM Figure 11-10)
            Write(RegisterLvtTimer, Masked | TimerVector);
            Write(RegisterInitialCount, 0xffffffff);
            ulong start = Clock.Nanoseconds();
            while (Clock.Nanoseconds() - start < 10_000_000) Native.Pause();
            uint elapsed = 0xffffffff - Read(RegisterCurrentCount);
            ulong ns = Clock.Nanoseconds() - start;
            Write(RegisterInitialCount, 0);                               // a zero count stops the timer (§11.5.4)
            TimerHz = elapsed * NsPerSecond / ns;
            Write(RegisterLvtTimer, TimerOneShot | TimerVector);
        }

        // The finest interval the timer can tell apart, in nanoseconds (what clock_getres reports).
        internal static ulong ResolutionNs
        {
            get
            {
                ulong hz = UsesTscDeadline ? Clock.TscHz : TimerHz;
                return hz >= NsPerSecond || hz == 0 ? 1 : (NsPerSecond + hz - 1) / hz;
            }
        }

        // Arms the timer to interrupt at `deadline` (Clock nanoseconds) unless it is already armed for
        // that time or earlier: an early interrupt only makes the scheduler arm it again, so a
        // deadline that moves later costs no register write.
        internal static void ArmAt(ulong deadline)
        {
            if (deadline >= s_armedFor) return;
            s_armedFor = deadline;
            ulong now = Clock.Nanoseconds();
            ulong interval = deadline > now ? deadline - now : 0;
            if (interval > LongestArmNs) interval = LongestArmNs;
            if (UsesTscDeadline)
            {
                ulong ticks = interval * (Clock.TscHz / 1000) / 1_000_000;
                Native.WriteMsr(MsrTscDeadline, Native.ReadTsc() + ticks + 1);
                return;
            }
            // Round up, so the interrupt does not come before the deadline; a write starts the count.
            ulong count = (interval * TimerHz + NsPerSecond - 1) / NsPerSecond;
            if (count == 0) count = 1;
            if (count > 0xffffffff) count = 0xffffffff;
            Write(RegisterInitialCount, (uint)count);
        }

        // From the timer interrupt: the armed deadline is spent.
        internal static void TimerFired()
        {
            Interrupts++;
            s_armedFor = NotArmed;
        }

        internal static void EndOfInterrupt() => Write(RegisterEoi, 0);

        private static uint Read(int register) => *(uint*)(s_registers + register);
        private static void Write(int register, uint value) => *(uint*)(s_registers + register) = value;
    }
}
