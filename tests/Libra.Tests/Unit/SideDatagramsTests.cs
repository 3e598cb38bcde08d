using System.Runtime.InteropServices;
using System.Text;
using Libra.Shims.Net;
using Xunit;

namespace Libra.Tests.Unit;

// A guest UDP socket's state (Shims/Net/SideDatagrams.cs): whole datagrams with their sources,
// udp_recvmsg's truncation, FIONREAD as the next datagram's size, datagram_poll's bits, and the rx
// credit that bounds what the Side may push (every datagram costs its bytes and a fixed overhead).
public sealed unsafe class SideDatagramsTests : IDisposable
{
    private const uint In = PollBits.In, Out = PollBits.Out, Err = PollBits.Err, Hup = PollBits.Hup, RdHup = PollBits.RdHup;
    private const int EAGAIN = -11, EPROTO = -71, EPIPE = -32, ECONNREFUSED = 111;
    private const uint Window = 1024, TxWindow = 400;
    private readonly byte* _ring = (byte*)NativeMemory.AllocZeroed(Window);

    public void Dispose() => NativeMemory.Free(_ring);

    private SideDatagrams New()
    {
        var d = new SideDatagrams();
        d.Initialize(_ring, Window, TxWindow);
        return d;
    }

    private static byte[] From(ushort port)
    {
        var a = new byte[16];
        SideAddress.WriteIPv4(a, 127, 0, 0, 1, port);
        return a;
    }

    private static (int Copied, int Length, string Text, ushort Port) Take(ref SideDatagrams d, int room, bool peek = false)
    {
        var buffer = new byte[room];
        var from = new byte[SideProtocol.SockaddrIn6Size];
        int copied = d.Receive(buffer, peek, from, out int fromLength, out int length);
        string text = copied > 0 ? Encoding.ASCII.GetString(buffer, 0, copied) : "";
        return (copied, length, text, fromLength > 0 ? SideAddress.Port(from.AsSpan(0, fromLength)) : (ushort)0);
    }

    [Fact]
    public void Datagrams_come_out_whole_in_order_with_their_sources_across_the_ring_edge()
    {
        var d = New();
        for (int round = 0; round < 50; round++)
        {
            string a = $"first {round}", b = $"second datagram {round}";
            Assert.True(d.OnDatagram(From(1000), Encoding.ASCII.GetBytes(a)) > 0);
            Assert.True(d.OnDatagram(From(2000), Encoding.ASCII.GetBytes(b)) > 0);
            Assert.Equal((a.Length, a.Length, a, (ushort)1000), TakeAll(ref d));
            Assert.Equal((b.Length, b.Length, b, (ushort)2000), TakeAll(ref d));
        }
        Assert.Equal(0u, d.Count);

        static (int, int, string, ushort) TakeAll(ref SideDatagrams d) => Take(ref d, 100);
    }

    [Fact]
    public void An_empty_socket_says_EAGAIN_with_IN_clear_and_every_arrival_raises_IN()
    {
        var d = New();
        Assert.Equal(EAGAIN, Take(ref d, 10).Copied);
        Assert.Equal(0u, d.Readiness() & In);
        Assert.Equal(Out, d.Readiness() & (Out | Err | Hup));
        Assert.True((d.OnDatagram(From(1), "a"u8) & In) != 0);
        Assert.True((d.OnDatagram(From(1), "b"u8) & In) != 0, "ET epoll fires per arriving datagram");
        Take(ref d, 10);
        Assert.NotEqual(0u, d.Readiness() & In);
        Take(ref d, 10);
        Assert.Equal(0u, d.Readiness() & In);
    }

    [Fact]
    public void A_short_buffer_truncates_the_datagram_and_loses_the_rest_but_a_peek_keeps_it()
    {
        var d = New();
        d.OnDatagram(From(7), "0123456789"u8);
        d.OnDatagram(From(8), "next"u8);
        Assert.Equal(10u, d.NextLength);
        Assert.Equal((4, 10, "0123", (ushort)7), Take(ref d, 4, peek: true));
        Assert.Equal((4, 10, "0123", (ushort)7), Take(ref d, 4));
        Assert.Equal(4u, d.NextLength);
        Assert.Equal((4, 4, "next", (ushort)8), Take(ref d, 64));
        Assert.Equal(0u, d.NextLength);
    }

    [Fact]
    public void An_empty_datagram_is_a_datagram()
    {
        var d = New();
        Assert.True((d.OnDatagram(From(9), ReadOnlySpan<byte>.Empty) & In) != 0);
        Assert.Equal(0u, d.NextLength);
        Assert.Equal((0, 0, "", (ushort)9), Take(ref d, 10));
        Assert.Equal(EAGAIN, Take(ref d, 10).Copied);
    }

    [Fact]
    public void Datagrams_beyond_the_credit_break_the_protocol_and_change_nothing_even_empty_ones()
    {
        var d = New();
        int fit = 0;
        while (d.OnDatagram(From(1), ReadOnlySpan<byte>.Empty) > 0) fit++;
        Assert.Equal((int)(Window / SideDatagrams.Overhead), fit);
        Assert.Equal(EPROTO, d.OnDatagram(From(1), ReadOnlySpan<byte>.Empty));
        Assert.Equal((uint)fit, d.Count);
        var big = New();
        Assert.Equal(EPROTO, big.OnDatagram(From(1), new byte[Window - SideDatagrams.Overhead + 1]));
        Assert.True(big.OnDatagram(From(1), new byte[Window - SideDatagrams.Overhead]) > 0);
    }

    [Fact]
    public void Consumed_datagrams_return_their_cost_as_credit_once_it_reaches_the_threshold()
    {
        var d = New();
        d.OnDatagram(From(1), new byte[100]);
        d.OnDatagram(From(1), new byte[50]);
        Take(ref d, 10, peek: true);
        Assert.Equal(0u, d.TakeCredit(1));
        Take(ref d, 10);
        Assert.Equal(0u, d.TakeCredit(SideDatagrams.Cost(100) + 1));
        Take(ref d, 10);
        Assert.Equal(SideDatagrams.Cost(100) + SideDatagrams.Cost(50), d.TakeCredit(SideDatagrams.Cost(100) + 1));
        Assert.Equal(0u, d.TakeCredit(1));
    }

    [Fact]
    public void A_pending_error_comes_first_once_then_the_datagrams()
    {
        var d = New();
        d.OnDatagram(From(1), "queued"u8);
        Assert.True((d.OnError(ECONNREFUSED) & Err) != 0);
        Assert.Equal(-ECONNREFUSED, Take(ref d, 10).Copied);
        Assert.Equal(0u, d.Readiness() & Err);
        Assert.Equal("queued", Take(ref d, 10).Text);
        d.OnError(ECONNREFUSED);
        Assert.Equal(-ECONNREFUSED, d.Send(1));
        Assert.Equal(0, d.Send(1));
    }

    [Fact]
    public void Sends_take_the_tx_window_OUT_clears_below_a_quarter_and_TX_CREDIT_raises_it()
    {
        var d = New();
        Assert.Equal(0, d.Send(300));
        Assert.Equal(Out, d.Readiness() & Out);
        Assert.Equal(EAGAIN, d.Send(101));
        Assert.Equal(0, d.Send(100));
        Assert.Equal(0u, d.Readiness() & Out);
        Assert.True((d.OnTxCredit(200) & Out) != 0);
        Assert.Equal(EPROTO, d.OnTxCredit(201));
    }

    [Fact]
    public void Shutdown_ends_receives_with_0_and_raises_RDHUP_then_HUP()
    {
        var d = New();
        d.Shutdown(SideProtocol.SHUT_RD);
        Assert.Equal(In | RdHup, d.Readiness() & (In | RdHup | Hup));
        Assert.Equal(0, Take(ref d, 10).Copied);
        d.Shutdown(SideProtocol.SHUT_WR);
        Assert.NotEqual(0u, d.Readiness() & Hup);
        Assert.Equal(EPIPE, d.Send(1));
    }
}
