using Libra.Memory;
using Libra.Time;

namespace Libra.Arch.X64
{
    // The local APIC in xAPIC mode (Intel SDM vol. 3A §11): the periodic timer that drives the
    // kernel tick, and end-of-interrupt. Its registers are MMIO, reached through the direct map.
    internal static unsafe class LocalApic
    {
        internal const int TimerVector = 0x20, SpuriousVector = 0xff;
        private const uint MsrApicBase = 0x1b;
        private const int RegisterEoi = 0xb0, RegisterSpurious = 0xf0, RegisterLvtTimer = 0x320,
            RegisterInitialCount = 0x380, RegisterCurrentCount = 0x390, RegisterDivide = 0x3e0;
        private const uint TimerPeriodic = 1u << 17, Masked = 1u << 16;

        private static byte* s_registers;
        internal static ulong TimerHz;        // APIC timer input clock after the divider
        internal static ulong Ticks;          // timer interrupts taken

        internal static bool Initialize()
        {
            if (!Cpu.HasApic) return false;
            ulong apicBase = Native.ReadMsr(MsrApicBase);
            Native.WriteMsr(MsrApicBase, apicBase | (1ul << 11));         // global enable
            s_registers = Layout.PhysicalToVirtual(apicBase & 0xfffff000);
            Write(RegisterSpurious, SpuriousVector | (1u << 8));          // software enable
            return true;
        }

        // Measures the timer's clock against the calibrated monotonic clock, then starts it periodic.
        internal static void StartTimer(int hz)
        {
            Write(RegisterDivide, 0x3);                                   // divide by 16
            Write(RegisterLvtTimer, Masked | TimerVector);
            Write(RegisterInitialCount, 0xffffffff);
            ulong start = Clock.Nanoseconds();
            while (Clock.Nanoseconds() - start < 10_000_000) Native.Pause();
            uint elapsed = 0xffffffff - Read(RegisterCurrentCount);
            ulong ns = Clock.Nanoseconds() - start;
            TimerHz = elapsed * 1_000_000_000ul / ns;
            Write(RegisterLvtTimer, TimerPeriodic | TimerVector);
            Write(RegisterInitialCount, (uint)(TimerHz / (ulong)hz));
        }

        internal static void EndOfInterrupt() => Write(RegisterEoi, 0);

        private static uint Read(int register) => *(uint*)(s_registers + register);
        private static void Write(int register, uint value) => *(uint*)(s_registers + register) = value;
    }
}
