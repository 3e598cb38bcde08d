using Libra.Signals;
using Xunit;

namespace Libra.Tests.Unit;

// The siginfo_t a handler or rt_sigtimedwait receives (LibraKernel/Signals/SignalInfo.cs, compiled
// from the kernel's own file), against the x86-64 layout of uapi/asm-generic/siginfo.h: si_signo at
// 0, si_code at 8, the union at 16 (_kill, _timer, _sigfault), the timer's sigval at 24.
public unsafe class SignalInfoTests
{
    private static byte[] Record(SignalInfo info, int signal)
    {
        var record = new byte[SignalInfo.Size];
        for (int i = 0; i < record.Length; i++) record[i] = 0xcc;
        fixed (byte* bytes = record) info.WriteTo(bytes, signal);
        return record;
    }

    private static int Int(byte[] record, int offset) => BitConverter.ToInt32(record, offset);

    [Fact]
    public void Kill_fills_si_pid_and_si_uid_with_si_code_SI_USER()
    {
        byte[] record = Record(SignalInfo.FromProcess(SignalInfo.SI_USER, 1), 10);
        Assert.Equal(10, Int(record, 0));
        Assert.Equal(0, Int(record, 4));            // si_errno
        Assert.Equal(0, Int(record, 8));            // SI_USER
        Assert.Equal(1, Int(record, 16));           // si_pid
        Assert.Equal(SignalInfo.Uid, Int(record, 20));
    }

    [Fact]
    public void Tgkill_is_SI_TKILL_and_the_kernel_SI_KERNEL_with_no_sender()
    {
        Assert.Equal(-6, Int(Record(SignalInfo.FromProcess(SignalInfo.SI_TKILL, 1), 10), 8));
        byte[] kernel = Record(SignalInfo.FromKernel(), 14);
        Assert.Equal(0x80, Int(kernel, 8));
        Assert.Equal(0, Int(kernel, 16));
        Assert.Equal(0, Int(kernel, 20));
    }

    [Fact]
    public void A_timer_signal_carries_si_timerid_si_overrun_and_si_value_but_not_its_setting()
    {
        SignalInfo info = SignalInfo.FromTimer(timerId: 3, setting: 7, value: 0x1122334455667788);
        info.SetOverrun(19);
        byte[] record = Record(info, 34);
        Assert.Equal(-2, Int(record, 8));           // SI_TIMER
        Assert.Equal(0, Int(record, 12));           // the setting stays in the kernel
        Assert.Equal(3, Int(record, 16));           // si_timerid
        Assert.Equal(19, Int(record, 20));          // si_overrun
        Assert.Equal(0x1122334455667788ul, BitConverter.ToUInt64(record, 24));
        Assert.Equal(3, info.TimerId);
    }

    [Fact]
    public void A_fault_carries_si_addr_and_the_rest_of_the_record_is_zero()
    {
        byte[] record = Record(SignalInfo.Fault(code: 1, address: 0xdead_beef_0000), 11);
        Assert.Equal(1, Int(record, 8));
        Assert.Equal(0xdead_beef_0000ul, BitConverter.ToUInt64(record, 16));
        Assert.All(record[32..], b => Assert.Equal(0, b));
    }
}
