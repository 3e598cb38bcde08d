namespace Libra.Qemu;

// A named virtio-serial port (a virtserialport, not a virtconsole: a short write is retried, not
// lost) joined to the unix socket at SocketPath, which something on the host listens on before QEMU
// starts: QEMU connects to it as a client. The guest claims the port by Name.
public sealed record SerialPortSocket(string Name, string SocketPath);
