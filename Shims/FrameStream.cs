namespace Libra.Shims
{
    // How a protocol cuts its byte stream into frames: every frame starts with a little-endian u32
    // holding its total length, header included, and its first HeaderSize bytes say where it goes.
    // 9P2000.L: size[4] type[1] tag[2] (NinePStream.Format); the Side protocol (sockets.md §3.2):
    // len[4] type[2] flags[2] sock[4] tag[4], 16 to 16+65536 bytes.
    internal struct FrameFormat
    {
        internal int HeaderSize;       // read before the frame is routed: 4..FrameStream.MaxHeaderSize
        internal uint MinimumSize;     // below it the size field is unbelievable (at least HeaderSize)
        internal uint MaximumSize;     // above it too: no frame boundary is left to find
        internal int TagOffset;        // the tag that routes a reply to its call, within the header
        internal int TagBytes;         // 2 or 4

        internal FrameFormat(int headerSize, uint minimumSize, uint maximumSize, int tagOffset, int tagBytes)
        {
            HeaderSize = headerSize;
            MinimumSize = minimumSize;
            MaximumSize = maximumSize;
            TagOffset = tagOffset;
            TagBytes = tagBytes;
        }
    }

    // One consumer of frames: a call waiting for the reply with its tag, or the inbox that takes the
    // frames no call waits for. It lives in the owner's memory (a call: the caller's stack) from
    // Register/SetInbox until the stream completes it (Done, with Result set; the inbox again and again).
    internal unsafe struct FrameCall
    {
        internal uint Tag;
        internal byte* Buffer;
        internal int Capacity;
        internal void* Waiter;           // the owner's (the kernel's thread to wake); unused here
        internal int Result;             // the frame's length, or -errno
        internal bool Done;
        internal FrameCall* Next;
    }

    // What FrameStream last found odd in the stream, for the owner's log line.
    internal enum FrameStreamProblem
    {
        None,
        UnknownTag,       // a whole frame for a tag no call waits for, and no inbox: dropped (ProblemValue = tag)
        BadSize,          // a size field outside the format's bounds: the stream broke (ProblemValue = size)
        Oversized,        // a whole frame larger than its consumer's buffer: skipped, that consumer fails (ProblemValue = size)
        ClosedMidFrame,   // the stream ended partway through a frame (ProblemValue = bytes of it received)
        Closed,           // the stream ended between frames (ProblemValue = calls left waiting)
    }

    // The demultiplexer of one framed byte stream (a virtio-serial port, a socket): frames arrive
    // split anywhere and in any order, and each goes whole into the buffer of the call waiting on its
    // tag, or else into the inbox (unsolicited frames: the Side's pushes), or is dropped. A frame larger
    // than its consumer's buffer but within the format's maximum is read past and fails only that
    // consumer, so the stream stays in step; a size field outside the format's bounds leaves no way
    // to find the next frame, so every waiting call and every later one fails (Linux's p9_conn_cancel
    // does so for 9P). No allocation and no blocking: the owner feeds bytes and learns of completions
    // through a callback.
    internal unsafe struct FrameStream
    {
        internal const int MaxHeaderSize = 16;

        private struct HeaderBytes { internal fixed byte Bytes[MaxHeaderSize]; }

        private FrameFormat _format;
        private FrameCall* _calls;
        private FrameCall* _inbox;
        private delegate*<FrameCall*, void> _completed;
        private HeaderBytes _header;
        private int _headerBytes;
        private FrameCall* _target;          // where the current frame goes; null: dropped
        private uint _frameSize, _frameDone;
        private bool _broken;
        private int _waiting;

        // The last oddity met and its number; the owner logs it and clears it with TakeProblem.
        internal FrameStreamProblem Problem;
        internal uint ProblemValue;

        // `completed` (or null) runs for each consumer the stream completes, after Done is set.
        internal FrameStream(FrameFormat format, delegate*<FrameCall*, void> completed)
        {
            this = default;
            _format = format;
            _completed = completed;
        }

        // True once the stream is out of step or closed: every call fails with EIO from then on.
        internal bool IsBroken => _broken;
        // Calls waiting for their reply (the inbox not counted).
        internal int Waiting => _waiting;
        // Bytes of a frame received so far when the stream stops partway through one, else 0.
        internal uint PartialFrameBytes => _headerBytes < _format.HeaderSize ? (uint)_headerBytes : _frameDone;

        // Makes `call` the one its tag's frame goes to; false (nothing changed) when the stream is
        // broken or another call waits on the same tag.
        internal bool Register(FrameCall* call)
        {
            if (_broken) return false;
            for (FrameCall* c = _calls; c != null; c = c->Next)
                if (c->Tag == call->Tag) return false;
            call->Done = false;
            call->Result = 0;
            call->Next = _calls;
            _calls = call;
            _waiting++;
            return true;
        }

        // Frames for no waiting call go to `inbox` (null: they are dropped), which is completed once per
        // frame and stays armed; the owner takes each frame in the callback, before the next one overwrites it.
        internal void SetInbox(FrameCall* inbox)
        {
            if (_target == _inbox) _target = null;
            _inbox = inbox;
            if (inbox == null) return;
            inbox->Done = false;
            inbox->Result = 0;
        }

        // Forgets a call that will not be completed (its request never went out, or it was given up);
        // a frame already arriving for it is dropped.
        internal void Cancel(FrameCall* call)
        {
            if (Unlink(call) && _target == call) _target = null;
        }

        // Takes the next `count` bytes of the stream.
        internal void Receive(byte* data, int count)
        {
            int at = 0;
            while (!_broken)
            {
                if (_headerBytes < _format.HeaderSize)
                {
                    if (at == count) return;
                    while (_headerBytes < _format.HeaderSize && at < count) _header.Bytes[_headerBytes++] = data[at++];
                    if (_headerBytes < _format.HeaderSize) return;
                    if (!StartFrame()) return;
                }
                uint want = _frameSize - _frameDone;
                uint have = (uint)(count - at);
                uint take = want < have ? want : have;
                if (_target != null)
                {
                    byte* to = _target->Buffer + _frameDone;
                    for (uint i = 0; i < take; i++) to[i] = data[at + i];
                }
                at += (int)take;
                _frameDone += take;
                if (_frameDone < _frameSize) return;
                FrameCall* consumer = _target;
                int length = (int)_frameSize;
                _target = null;
                _headerBytes = 0;
                _frameDone = _frameSize = 0;
                if (consumer != null) Complete(consumer, length);
            }
        }

        // The whole header is in: checks the size, finds the frame's consumer and copies the header there.
        private bool StartFrame()
        {
            uint size = HeaderField(0, 4);
            if (size < _format.MinimumSize || size > _format.MaximumSize || size < (uint)_format.HeaderSize)
            {
                Problem = FrameStreamProblem.BadSize;
                ProblemValue = size;
                Fail(-(int)Errno.EIO);
                return false;
            }
            uint tag = HeaderField(_format.TagOffset, _format.TagBytes);
            FrameCall* consumer = Find(tag);
            if (consumer == null) consumer = _inbox;
            if (consumer == null)
            {
                Problem = FrameStreamProblem.UnknownTag;
                ProblemValue = tag;
            }
            else if (size > (uint)consumer->Capacity)
            {
                // Too big for its consumer: skip the frame's bytes and fail only that consumer.
                Problem = FrameStreamProblem.Oversized;
                ProblemValue = size;
                Complete(consumer, -(int)Errno.EIO);
                consumer = null;
            }
            else
            {
                if (consumer == _inbox) consumer->Done = false;
                for (int i = 0; i < _format.HeaderSize; i++) consumer->Buffer[i] = _header.Bytes[i];
            }
            _target = consumer;
            _frameSize = size;
            _frameDone = (uint)_format.HeaderSize;
            return true;
        }

        // The little-endian field of `bytes` bytes at `offset` in the header.
        private uint HeaderField(int offset, int bytes)
        {
            uint value = 0;
            for (int i = bytes - 1; i >= 0; i--) value = value << 8 | _header.Bytes[offset + i];
            return value;
        }

        // The stream ended (the peer closed it): waiting calls fail with EIO, and so do later ones.
        // The problem says whether a frame was cut short and how many calls were left waiting.
        internal void Close()
        {
            if (_broken) return;
            uint partial = PartialFrameBytes;
            if (partial > 0) { Problem = FrameStreamProblem.ClosedMidFrame; ProblemValue = partial; }
            else { Problem = FrameStreamProblem.Closed; ProblemValue = (uint)_waiting; }
            Fail(-(int)Errno.EIO);
        }

        // Breaks the stream: every waiting call completes with `error`, and Register refuses from now
        // on. The inbox is left alone: nothing more arrives in it.
        internal void Fail(int error)
        {
            _broken = true;
            _target = null;
            while (_calls != null) Complete(_calls, error);
        }

        // The problem to log (None when there is none), cleared.
        internal FrameStreamProblem TakeProblem(out uint value)
        {
            FrameStreamProblem problem = Problem;
            value = ProblemValue;
            Problem = FrameStreamProblem.None;
            ProblemValue = 0;
            return problem;
        }

        private void Complete(FrameCall* consumer, int result)
        {
            if (consumer != _inbox) Unlink(consumer);
            consumer->Result = result;
            consumer->Done = true;
            if (_completed != null) _completed(consumer);
        }

        private FrameCall* Find(uint tag)
        {
            for (FrameCall* c = _calls; c != null; c = c->Next)
                if (c->Tag == tag) return c;
            return null;
        }

        private bool Unlink(FrameCall* call)
        {
            FrameCall** link;
            fixed (FrameCall** head = &_calls) link = head;
            while (*link != null && *link != call) link = &(*link)->Next;
            if (*link != call) return false;
            *link = call->Next;
            call->Next = null;
            _waiting--;
            return true;
        }
    }
}
