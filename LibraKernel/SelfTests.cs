using System.Runtime.CompilerServices;
using Libra.Arch.X64;
using Libra.Boot;
using Libra.Diagnostics;
using Libra.Time;

namespace Libra
{
    // Faults and measurements the command line can ask for (libra.selftest=...), so the integration
    // tests can check the panic path and the clock on a real boot.
    internal static unsafe class SelfTests
    {
        internal const ulong ClockTestNs = 2_000_000_000;
        private static int s_zero;

        internal static void Run(SelfTest test, int tickHz)
        {
            KernelLog.Begin(); KernelLog.Write("selftest: "); KernelLog.Write(Name(test)); KernelLog.End();
            switch (test)
            {
                case SelfTest.PageFault: TouchUnmappedMemory(); break;
                case SelfTest.Divide: KernelLog.Decimal((ulong)DivideBy(s_zero)); break;
                case SelfTest.InvalidOpcode: Native.RaiseFault(2); break;
                case SelfTest.Breakpoint: Native.RaiseFault(3); break;
                case SelfTest.GeneralProtection: Native.RaiseFault(4); break;
                case SelfTest.Clock: MeasureClock(tickHz); break;
                // SerialEcho starts once the devices are up (Kernel.RunApplication).
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void TouchUnmappedMemory()
        {
            *(ulong*)0xdead000 = 0x11b7a;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int DivideBy(int divisor) => 1000 / divisor;

        // Two marks ClockTestNs apart by the kernel's clock, waited for with HLT and the one-shot timer
        // armed a tick ahead each time, so the timer interrupt must fire; the host compares the marks
        // with its own clock.
        private static void MeasureClock(int tickHz)
        {
            ulong tick = 1_000_000_000ul / (ulong)tickHz;
            ulong ticksBefore = LocalApic.Interrupts;
            ulong start = Clock.Nanoseconds();
            KernelLog.Begin(); KernelLog.Write("clock mark 0 at "); KernelLog.Decimal(start); KernelLog.Write(" ns"); KernelLog.End();
            ulong now;
            while ((now = Clock.Nanoseconds()) - start < ClockTestNs)
            {
                LocalApic.ArmAt(now + tick);
                Native.Halt();
            }
            ulong end = Clock.Nanoseconds();
            KernelLog.Begin(); KernelLog.Write("clock mark 1 at "); KernelLog.Decimal(end); KernelLog.Write(" ns; elapsed ");
            KernelLog.Decimal(end - start); KernelLog.Write(" ns; timer ticks "); KernelLog.Decimal(LocalApic.Interrupts - ticksBefore); KernelLog.End();
        }

        private static string Name(SelfTest test) => test switch
        {
            SelfTest.PageFault => "pagefault", SelfTest.Divide => "divide", SelfTest.InvalidOpcode => "invalid-opcode",
            SelfTest.Breakpoint => "breakpoint", SelfTest.GeneralProtection => "general-protection", SelfTest.Clock => "clock",
            SelfTest.SerialEcho => "serial-echo",
            _ => "none",
        };
    }
}
