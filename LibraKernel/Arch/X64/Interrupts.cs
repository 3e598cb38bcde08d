using System.Runtime;
using Libra.Diagnostics;

namespace Libra.Arch.X64
{
    // Where every interrupt and exception lands after its stub (Arch/X64/Interrupts.S).
    internal static unsafe class Interrupts
    {
        [RuntimeExport("libra_interrupt")]
        private static void Dispatch(InterruptFrame* frame)
        {
            int vector = (int)frame->Vector;
            if (vector == LocalApic.TimerVector)
            {
                LocalApic.Ticks++;
                LocalApic.EndOfInterrupt();
                return;
            }
            if (vector == LocalApic.SpuriousVector) return;
            Panic.Fault(frame);
        }
    }
}
