using System.Net;
using Libra.Qemu;
using Libra.Tests.Boot;
using Libra.Tests.Probes;
using Xunit;

namespace Libra.Tests.Side;

// The network's port on the machine: Libra.Qemu starts the Side before QEMU and joins it to the
// virtserialport "libra.net" on the same virtio-serial device as diod's "libra.9p". The kernel links
// to it (HELLO) at boot; an application that opens no socket runs exactly as without it.
[Collection("qemu")]
public class SideBootTests
{
    [Fact]
    public void The_network_port_sits_beside_diods_on_one_virtio_serial_device()
    {
        var machine = new QemuMachine
        {
            KernelImage = "libra.elf", SharedDirectory = "/tmp", FileServer = FileServer.Diod,
            Network = new NetworkOptions(["18080:8080"], Outbound: false),
        }.WithChannels(GuestChannels.Create());
        string line = string.Join(' ', machine.Arguments());
        Assert.Single(machine.Arguments(), a => a == "virtio-serial-pci,id=vser");
        Assert.Contains("virtserialport,bus=vser.0,nr=1,chardev=port1,name=libra.9p", line);
        Assert.Contains($"socket,id=port2,path={machine.Channels!.NetworkSocket},reconnect=1", line);
        Assert.Contains("virtserialport,bus=vser.0,nr=2,chardev=port2,name=libra.net", line);
        machine.Channels.Dispose();
    }

    [Fact]
    public async Task A_boot_with_the_network_port_runs_the_application_undisturbed()
    {
        ProbeCase probe = ProbeCatalog.Get("hello");
        string binary = ProbeArtifacts.PathOf(probe);
        WorkDirectory shared = WorkDirectory.Create();
        try
        {
            var machine = new QemuMachine
            {
                KernelImage = LibraBoot.KernelImage, Memory = "1G", InitialRamDisk = binary,
                SharedDirectory = shared.Path, FileServer = FileServer.Diod,
                Network = new NetworkOptions([$"{SideGuest.FreePort()}:8080"], Outbound: true),
                CommandLine = AppCommandLine.Build("", binary, [], ["one"], false),
            };
            BootResult result = await BootRun.RunAsync(machine, ProbeOnLibra.Timeout);
            Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr + "\n" + result.NetworkLog);
            Assert.Contains("Hello from a Libra probe", result.Stdout);
            Assert.Contains("port 1 'libra.9p' claimed", result.Output);
            Assert.Contains("port 2 'libra.net' claimed", result.Output);
            Assert.Contains("side: linked to the Side daemon", result.Output);
            Assert.DoesNotContain("panic", result.Output);
            Assert.Equal("", result.NetworkLog.Trim());
        }
        finally { shared.Delete(); }
    }

    // UDP off the guest: with outbound a datagram reaches a host echo on 127.0.0.1 and the echo
    // comes back, from the address the guest sent to.
    [Fact]
    public async Task With_outbound_a_datagram_reaches_a_host_UDP_echo_and_its_echo_comes_back()
    {
        using var echo = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)echo.Client.LocalEndPoint!).Port;
        var echoing = Task.Run(async () =>
        {
            var received = await echo.ReceiveAsync();
            await echo.SendAsync(received.Buffer, received.RemoteEndPoint);
        });
        BootResult result = await RunNetworkProbe(new NetworkOptions([], Outbound: true), "--udp-echo", port.ToString());
        Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr + "\n" + result.NetworkLog);
        Assert.Equal($"echo me from 127.0.0.1:{port}\n", result.Stdout);
        Assert.True(echoing.IsCompletedSuccessfully);
    }

    private static Task<BootResult> RunNetworkProbe(NetworkOptions network, params string[] args)
    {
        string binary = ProbeArtifacts.PathOf(ProbeCatalog.Get("network"));
        var machine = new QemuMachine
        {
            KernelImage = LibraBoot.KernelImage, Memory = "1G", InitialRamDisk = binary, Network = network,
            CommandLine = AppCommandLine.Build("", binary, [], args, false),
        };
        return BootRun.RunAsync(machine, ProbeOnLibra.Timeout);
    }

    // DNS over UDP through the Side: the guest's /etc/resolv.conf names 127.0.0.11, which the Side
    // forwards to the name server given (here a responder this test runs on 127.0.0.1).
    [Fact]
    public async Task With_outbound_a_name_resolves_through_the_Sides_name_server()
    {
        using var responder = new TestNameServer(IPAddress.Parse("192.0.2.7"));
        BootResult result = await RunNetworkProbe(new NetworkOptions([], Outbound: true, NameServer: $"127.0.0.1:{responder.Port}"),
            "--resolve", "probe.libra.test");
        Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr + "\n" + result.NetworkLog);
        Assert.Equal("192.0.2.7\n", result.Stdout);
        Assert.Contains("probe.libra.test", responder.Questions);
    }
}
