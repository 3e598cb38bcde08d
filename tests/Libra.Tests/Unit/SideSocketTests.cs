using System.Runtime.InteropServices;
using Libra.Shims.Net;
using Xunit;

namespace Libra.Tests.Unit;

// The guest socket state the Side protocol feeds (Shims/Net/SideSocket.cs) and the readiness rules
// of reference/sockets.md §3.6: an EAGAIN is only returned while its bit is clear, and the fact
// that makes progress possible again always returns that bit, so .NET's ET epoll never hangs.
public sealed unsafe class SideSocketTests : IDisposable
{
    private const uint In = PollBits.In, Out = PollBits.Out, Err = PollBits.Err, Hup = PollBits.Hup, RdHup = PollBits.RdHup;
    private const int EAGAIN = -11, ECONNRESET = 104, ECONNREFUSED = 111, EPROTO = -71, EPIPE = -32;
    private const uint Window = 64, TxWindow = 100;
    private readonly uint* _accepts = (uint*)NativeMemory.AllocZeroed(4 * sizeof(uint));

    public void Dispose() => NativeMemory.Free(_accepts);

    internal static void* Allocate(ulong size) => NativeMemory.AllocZeroed((nuint)size);
    internal static void Free(void* block) => NativeMemory.Free(block);

    private void Initialize(ref SideSocket s, uint window) => s.Initialize(1, window, &Allocate, &Free, _accepts, 4, TxWindow);

    private SideSocket Connected()
    {
        var s = new SideSocket();
        Initialize(ref s, Window);
        s.Connecting();
        Assert.Equal(0u, s.Readiness());
        Assert.True((s.OnConnected() & Out) != 0, "CONNECTED must raise OUT");
        return s;
    }

    private static int Receive(ref SideSocket s, int count, bool peek = false) => s.Receive(new byte[count], peek);

    [Fact]
    public void Data_after_EAGAIN_raises_IN_and_every_arrival_notifies_IN_again()
    {
        var s = Connected();
        Assert.Equal(EAGAIN, Receive(ref s, 1, peek: true));
        Assert.Equal(0u, s.Readiness() & In);
        Assert.True((s.OnData("ab"u8) & In) != 0);
        Assert.True((s.OnData("cd"u8) & In) != 0, "Linux ET fires per arrival, even on a non-empty queue");
        Assert.Equal(1, Receive(ref s, 1, peek: true));
        Assert.Equal(4u, s.Buffered);
        Assert.Equal(4, Receive(ref s, 10));
        Assert.Equal(0u, s.Readiness() & In);
        Assert.Equal(EAGAIN, Receive(ref s, 1));
    }

    [Fact]
    public void Received_bytes_wrap_the_ring_in_order_and_come_back_as_credit()
    {
        var s = Connected();
        var got = new List<byte>();
        byte next = 0;
        for (int round = 0; round < 20; round++)
        {
            var chunk = Enumerable.Range(0, 40).Select(_ => next++).ToArray();
            Assert.True(s.OnData(chunk) >= 0);
            var buffer = new byte[40];
            Assert.Equal(40, s.Receive(buffer, peek: false));
            got.AddRange(buffer);
            Assert.Equal(40u, s.TakeCredit(Window / 4));
        }
        Assert.Equal(Enumerable.Range(0, 800).Select(i => (byte)i), got);
    }

    [Fact]
    public void Data_beyond_the_granted_window_is_a_protocol_error_that_changes_nothing()
    {
        var s = Connected();
        Assert.True(s.OnData(new byte[Window]) >= 0);
        Assert.Equal(EPROTO, s.OnData(new byte[1]));
        Assert.Equal(Window, s.Buffered);
        Assert.Equal(EPROTO, s.OnTxCredit(1));     // nothing was sent
    }

    [Fact]
    public void A_full_send_window_gives_EAGAIN_with_OUT_clear_and_TX_CREDIT_raises_OUT()
    {
        var s = Connected();
        Assert.Equal((int)TxWindow - 10, s.Send((int)TxWindow - 10));
        Assert.Equal(10, s.Send(1000));          // a short count, as Linux
        Assert.Equal(EAGAIN, s.Send(1));
        Assert.Equal(0u, s.Readiness() & Out);
        // Below the low-water mark: no OUT storm (R6), and sends would still be short.
        Assert.Equal(0, s.OnTxCredit(5) & (int)Out);
        Assert.True((s.OnTxCredit(TxWindow - 5) & Out) != 0);
        Assert.Equal((int)TxWindow, s.Send(1000));
    }

    [Fact]
    public void Connect_failure_is_OUT_ERR_HUP_then_SO_ERROR_once()
    {
        var s = new SideSocket();
        Initialize(ref s, Window);
        s.Connecting();
        int rose = s.OnConnectFailed(ECONNREFUSED);
        Assert.Equal(Out | Err | Hup, (uint)rose & (Out | Err | Hup));
        Assert.Equal(ECONNREFUSED, s.TakeError());
        Assert.Equal(0, s.TakeError());
        Assert.Equal(0u, s.Readiness() & Err);
    }

    [Fact]
    public void FIN_gives_the_buffered_bytes_then_zero_with_IN_and_RDHUP()
    {
        var s = Connected();
        s.OnData("bye"u8);
        Assert.True((s.OnEof() & RdHup) != 0);
        Assert.Equal(In, s.Readiness() & In);
        Assert.Equal(3, Receive(ref s, 10));
        Assert.Equal(0, Receive(ref s, 10));
        Assert.Equal(In | RdHup, s.Readiness() & (In | RdHup));
    }

    [Fact]
    public void RST_gives_the_buffered_bytes_then_ECONNRESET_once_then_end_of_stream()
    {
        var s = Connected();
        s.OnData("last"u8);
        uint rose = (uint)s.OnError(ECONNRESET, SideProtocol.ErrorReset | SideProtocol.ErrorHangup);
        Assert.Equal(Err | Hup, rose & (Err | Hup));
        Assert.Equal(In | Out | Err | Hup, s.Readiness() & (In | Out | Err | Hup));
        Assert.Equal(4, Receive(ref s, 10));
        Assert.Equal(-ECONNRESET, Receive(ref s, 10));
        Assert.Equal(0, Receive(ref s, 10));
        Assert.Equal(EPIPE, s.Send(1));
    }

    [Fact]
    public void ACCEPTED_raises_IN_on_the_listener_and_accept_that_empties_the_queue_clears_it()
    {
        var s = new SideSocket();
        Initialize(ref s, 0);
        s.Listening();
        Assert.Equal(EAGAIN, s.Accept(out _));
        Assert.True((s.OnAccepted(0x80000000) & In) != 0);
        Assert.True((s.OnAccepted(0x80000001) & In) != 0);
        Assert.Equal(0, s.Accept(out uint first));
        Assert.Equal(0x80000000u, first);
        Assert.Equal(In, s.Readiness() & In);
        Assert.Equal(0, s.Accept(out _));
        Assert.Equal(0u, s.Readiness() & In);
        Assert.Equal(EAGAIN, s.Accept(out _));
        Assert.Equal(2u, s.TakeAcceptCredit());
        for (uint i = 0; i < 4; i++) Assert.True(s.OnAccepted(0x80000010 + i) >= 0);
        Assert.Equal(EPROTO, s.OnAccepted(0x80000020));      // past the accept credit
    }

    [Fact]
    public void Epoll_reports_the_requested_bits_and_always_ERR_and_HUP()
    {
        Assert.Equal(In, PollBits.Report(In | Out, In));
        Assert.Equal(Err | Hup, PollBits.Report(Err | Hup | Out, In));
        Assert.Equal(0u, PollBits.Report(Out, In));
    }

    // Random traffic: whenever a call says EAGAIN its bit is clear, and before the next call
    // could succeed some fact returned that bit (no lost edge, which would hang .NET for good).
    [Fact]
    public void No_edge_is_lost_after_EAGAIN_under_random_traffic()
    {
        var random = new Random(42);
        var s = Connected();
        bool waitingIn = false, waitingOut = false;
        uint inFlight = 0;
        for (int step = 0; step < 20_000; step++)
        {
            int rose = 0;
            switch (random.Next(4))
            {
                case 0:
                    uint room = Window - s.Buffered;
                    if (room > 0) rose = s.OnData(new byte[random.Next(1, (int)room + 1)]);
                    break;
                case 1:
                    if (inFlight > 0)
                    {
                        uint back = (uint)random.Next(1, (int)inFlight + 1);
                        inFlight -= back;
                        rose = s.OnTxCredit(back);
                    }
                    break;
                case 2:
                    int got = Receive(ref s, random.Next(1, 50));
                    if (got == EAGAIN) { Assert.Equal(0u, s.Readiness() & In); waitingIn = true; }
                    else Assert.False(waitingIn, "a receive succeeded with no IN edge since its EAGAIN");
                    s.TakeCredit(1);
                    break;
                case 3:
                    int sent = s.Send(random.Next(1, 60));
                    if (sent == EAGAIN) { Assert.Equal(0u, s.Readiness() & Out); waitingOut = true; }
                    // Below the low-water mark a retry may succeed short without OUT (as on Linux); it is no longer waiting.
                    else if (sent > 0) { inFlight += (uint)sent; waitingOut = false; }
                    break;
            }
            Assert.True(rose >= 0);
            if ((rose & (int)In) != 0) waitingIn = false;
            if ((rose & (int)Out) != 0) waitingOut = false;
            // A waiter would sleep only while its bit is clear; it must be woken before it can progress.
            if (waitingIn) Assert.True((s.Readiness() & In) == 0, "IN set with no edge delivered after EAGAIN");
            if (waitingOut && (s.Readiness() & Out) != 0) Assert.Fail("OUT set with no edge delivered after EAGAIN");
        }
    }

    [Fact]
    public void A_link_reset_during_a_connect_fails_the_connect_with_its_errno()
    {
        var s = new SideSocket();
        Initialize(ref s, Window);
        s.Connecting();
        uint rose = (uint)s.OnError(ECONNRESET, SideProtocol.ErrorReset | SideProtocol.ErrorHangup);
        Assert.Equal(SideSocketState.Failed, s.State);
        Assert.Equal(Out | Err | Hup, rose & (Out | Err | Hup));
        Assert.Equal(ECONNRESET, s.TakeError());
    }

    [Fact]
    public void A_listener_that_lost_the_link_reports_IN_and_HUP_and_accept_fails_instead_of_waiting()
    {
        var s = new SideSocket();
        Initialize(ref s, 0);
        s.Listening();
        Assert.True((s.OnAccepted(0x80000000) & In) != 0);
        uint rose = (uint)s.OnError(ECONNRESET, SideProtocol.ErrorReset | SideProtocol.ErrorHangup);
        Assert.Equal(Err | Hup, rose & (Err | Hup));
        Assert.Equal(0, s.Accept(out uint first));              // what was queued is still handed out
        Assert.Equal(0x80000000u, first);
        Assert.Equal(In | Hup, s.Readiness() & (In | Hup));
        Assert.Equal(-ECONNRESET, s.Accept(out _));
        Assert.Equal(-22, s.Accept(out _));                      // EINVAL from then on: no more EAGAIN
    }
}
