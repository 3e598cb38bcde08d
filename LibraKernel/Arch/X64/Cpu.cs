namespace Libra.Arch.X64
{
    // What CPUID says about the processor and the hypervisor, read once at boot.
    internal static unsafe class Cpu
    {
        internal static uint Features1Ecx, Features1Edx, Features7Ebx, Features7Ecx, ExtendedEdx, PowerEdx;
        internal static uint MaxLeaf, Leaf15Eax, Leaf15Ebx, Leaf15Ecx, Leaf16Eax;   // 15H and 16H: the TSC's and the core's frequencies
        internal static bool OnKvm;
        internal static uint KvmFeatures;
        private struct BrandText { internal fixed byte Bytes[49]; }
        private static BrandText s_brand;

        internal static bool HasSse42 => (Features1Ecx & (1u << 20)) != 0;
        internal static bool HasPopcnt => (Features1Ecx & (1u << 23)) != 0;
        internal static bool HasXsave => (Features1Ecx & (1u << 26)) != 0;
        internal static bool HasAvx => (Features1Ecx & (1u << 28)) != 0;
        internal static bool HasRdrand => (Features1Ecx & (1u << 30)) != 0;
        internal static bool HasX2Apic => (Features1Ecx & (1u << 21)) != 0;
        internal static bool HasTscDeadline => (Features1Ecx & (1u << 24)) != 0;
        internal static bool HasApic => (Features1Edx & (1u << 9)) != 0;
        internal static bool HasAvx2 => (Features7Ebx & (1u << 5)) != 0;
        internal static bool HasFsGsBase => (Features7Ebx & (1u << 0)) != 0;
        internal static bool HasHugePages => (ExtendedEdx & (1u << 26)) != 0;
        internal static bool HasNx => (ExtendedEdx & (1u << 20)) != 0;
        internal static bool HasInvariantTsc => (PowerEdx & (1u << 8)) != 0;
        internal static bool HasKvmClock => OnKvm && (KvmFeatures & (1u << 3)) != 0;
        // CR4.OSXSAVE: Boot/entry.S turned on XSAVE for x87|SSE|AVX (when the CPU has XSAVE and AVX).
        internal static bool XsaveEnabled => (Native.ReadCr4() & (1ul << 18)) != 0;
        internal const ulong XsaveFeatures = 7;

        // Bytes XSAVE writes for the enabled features (CPUID.(EAX=0DH,ECX=0):EBX).
        internal static uint XsaveSize()
        {
            uint* r = stackalloc uint[4];
            Native.CpuId(0xd, 0, r);
            return r[1];
        }

        internal static void Identify()
        {
            uint* r = stackalloc uint[4];
            Native.CpuId(0, 0, r);
            uint maxLeaf = MaxLeaf = r[0];
            Native.CpuId(1, 0, r);
            Features1Ecx = r[2];
            Features1Edx = r[3];
            if (maxLeaf >= 7)
            {
                Native.CpuId(7, 0, r);
                Features7Ebx = r[1];
                Features7Ecx = r[2];
            }
            if (maxLeaf >= 0x15) { Native.CpuId(0x15, 0, r); Leaf15Eax = r[0]; Leaf15Ebx = r[1]; Leaf15Ecx = r[2]; }
            if (maxLeaf >= 0x16) { Native.CpuId(0x16, 0, r); Leaf16Eax = r[0]; }
            Native.CpuId(0x80000000, 0, r);
            uint maxExtended = r[0];
            if (maxExtended >= 0x80000001) { Native.CpuId(0x80000001, 0, r); ExtendedEdx = r[3]; }
            if (maxExtended >= 0x80000007) { Native.CpuId(0x80000007, 0, r); PowerEdx = r[3]; }
            if (maxExtended >= 0x80000004)
            {
                fixed (byte* brand = s_brand.Bytes)
                {
                    for (uint leaf = 0; leaf < 3; leaf++)
                    {
                        Native.CpuId(0x80000002 + leaf, 0, r);
                        for (int i = 0; i < 16; i++) brand[leaf * 16 + i] = ((byte*)r)[i];
                    }
                    brand[48] = 0;
                }
            }

            // Hypervisor leaves (CPUID.1:ECX bit 31): "KVMKVMKVM\0\0\0" in ebx, ecx, edx of 0x40000000.
            if ((Features1Ecx & (1u << 31)) != 0)
            {
                Native.CpuId(0x40000000, 0, r);
                OnKvm = r[1] == 0x4b4d564b && r[2] == 0x564b4d56 && r[3] == 0x4d;
                if (OnKvm && r[0] >= 0x40000001) { Native.CpuId(0x40000001, 0, r); KvmFeatures = r[0]; }
            }
        }

        internal static byte* Brand
        {
            get { fixed (byte* brand = s_brand.Bytes) return brand; }
        }
    }
}
