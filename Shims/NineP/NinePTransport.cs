namespace Libra.Shims.NineP
{
    // One request/reply round trip as a transport carries it: like a virtio descriptor chain
    // (virtio 1.2 §2.7.5: device-readable buffers, then device-writable ones), the request is
    // Request then RequestData, and the reply fills Reply then ReplyData in order. The data parts
    // let Twrite and Rread move file data straight from and to the caller's memory, as Linux
    // p9_virtio_zc_request does; they are null/0 for every other message.
    internal unsafe struct NinePExchange
    {
        internal byte* Request;
        internal int RequestLength;
        internal byte* RequestData;
        internal int RequestDataLength;
        internal byte* Reply;
        internal int ReplyCapacity;
        internal byte* ReplyData;
        internal int ReplyDataCapacity;
        // Set by the transport: the reply's bytes written to Reply, then ReplyData.
        internal int Received;
    }
}
