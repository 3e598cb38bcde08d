namespace Libra.Arch.X64
{
    // The legacy 8259 pair: remapped to vectors 0x20..0x2f so a stray IRQ cannot look like a CPU
    // exception, then fully masked; Libra takes its interrupts from the local APIC.
    internal static class Pic
    {
        internal static void Disable()
        {
            Native.OutByte(0x20, 0x11); Native.OutByte(0xa0, 0x11);   // ICW1: initialise, ICW4 follows
            Native.OutByte(0x21, 0x20); Native.OutByte(0xa1, 0x28);   // ICW2: vector bases
            Native.OutByte(0x21, 0x04); Native.OutByte(0xa1, 0x02);   // ICW3: cascade on IRQ2
            Native.OutByte(0x21, 0x01); Native.OutByte(0xa1, 0x01);   // ICW4: 8086 mode
            Native.OutByte(0x21, 0xff); Native.OutByte(0xa1, 0xff);   // mask everything
        }
    }
}
