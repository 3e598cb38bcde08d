namespace Libra.Shims.NineP
{
    // One request waiting for its reply on a byte stream; it lives on the caller's stack from
    // NinePStream.Register until the stream completes it (Done, with Result set).
    internal unsafe struct NinePStreamCall
    {
        internal ushort Tag;
        internal byte* Reply;
        internal int Capacity;
        internal void* Waiter;           // the caller's (the kernel's thread to wake); unused here
        internal int Result;             // the reply's length, or -errno
        internal bool Done;
        internal NinePStreamCall* Next;
    }

    // What NinePStream last found odd in the stream, for the owner's log line.
    internal enum NinePStreamProblem
    {
        None,
        UnknownTag,       // a whole reply for a tag no call waits for: dropped (ProblemValue = tag)
        BadSize,          // a size field below 7 or beyond belief: the stream broke (ProblemValue = size)
        Oversized,        // a whole reply larger than its call's buffer: skipped, that call fails (ProblemValue = size)
        ClosedMidFrame,   // the stream ended partway through a reply (ProblemValue = bytes of it received)
        Closed,           // the stream ended between replies (ProblemValue = calls left waiting)
    }

    // 9P2000.L over a byte stream (a virtio-serial port, a socket): replies arrive as size[4] type[1]
    // tag[2] body, in any order and split anywhere, and each goes whole into the reply buffer of the
    // call waiting on its tag (9P2000.L: "the server may answer out of order"). A reply larger than
    // its call's buffer (but below MaxSkippable) is read past and fails only that call with EIO, so
    // the stream stays in step; a size field below the header or beyond that leaves no way to find
    // the next frame, so, as Linux's p9_conn_cancel, every waiting call and every later one fails. No allocation and no blocking: the owner
    // feeds bytes and learns of completions through a callback.
    internal unsafe struct NinePStream
    {
        // The largest frame believed to be a real (if oversized) reply that can be skipped whole.
        internal const uint MaxSkippable = 16u << 20;

        private struct HeaderBytes { internal fixed byte Bytes[NinePProtocol.HeaderSize]; }

        private NinePStreamCall* _calls;
        private delegate*<NinePStreamCall*, void> _completed;
        private uint _limit;
        private HeaderBytes _header;
        private int _headerBytes;
        private NinePStreamCall* _target;    // where the current frame goes; null: dropped
        private uint _frameSize, _frameDone;
        private bool _broken;
        private int _waiting;

        // The last oddity met and its number; the owner logs it and clears it with TakeProblem.
        internal NinePStreamProblem Problem;
        internal uint ProblemValue;

        // `limit` is the largest frame accepted (the msize the client proposes); `completed` (or null)
        // runs for each call the stream completes, after Done is set.
        internal NinePStream(uint limit, delegate*<NinePStreamCall*, void> completed)
        {
            this = default;
            _limit = limit;
            _completed = completed;
        }

        // True once the stream is out of step or closed: every call fails with EIO from then on.
        internal bool IsBroken => _broken;
        // Calls waiting for their reply.
        internal int Waiting => _waiting;
        // Bytes of a reply received so far when the stream stops partway through one, else 0.
        internal uint PartialFrameBytes => _headerBytes < NinePProtocol.HeaderSize ? (uint)_headerBytes : _frameDone;

        // Makes `call` the one its tag's reply goes to; false (nothing changed) when the stream is
        // broken or another call waits on the same tag.
        internal bool Register(NinePStreamCall* call)
        {
            if (_broken) return false;
            for (NinePStreamCall* c = _calls; c != null; c = c->Next)
                if (c->Tag == call->Tag) return false;
            call->Done = false;
            call->Result = 0;
            call->Next = _calls;
            _calls = call;
            _waiting++;
            return true;
        }

        // Forgets a call that will not be completed (its request never went out); a reply already
        // arriving for it is dropped.
        internal void Cancel(NinePStreamCall* call)
        {
            if (Unlink(call) && _target == call) _target = null;
        }

        // Takes the next `count` bytes of the stream.
        internal void Receive(byte* data, int count)
        {
            int at = 0;
            while (!_broken)
            {
                if (_headerBytes < NinePProtocol.HeaderSize)
                {
                    if (at == count) return;
                    while (_headerBytes < NinePProtocol.HeaderSize && at < count) _header.Bytes[_headerBytes++] = data[at++];
                    if (_headerBytes < NinePProtocol.HeaderSize) return;
                    if (!StartFrame()) return;
                }
                uint want = _frameSize - _frameDone;
                uint have = (uint)(count - at);
                uint take = want < have ? want : have;
                if (_target != null)
                {
                    byte* to = _target->Reply + _frameDone;
                    for (uint i = 0; i < take; i++) to[i] = data[at + i];
                }
                at += (int)take;
                _frameDone += take;
                if (_frameDone < _frameSize) return;
                NinePStreamCall* call = _target;
                int length = (int)_frameSize;
                _target = null;
                _headerBytes = 0;
                _frameDone = _frameSize = 0;
                if (call != null) Complete(call, length);
            }
        }

        // The whole header is in: checks the size, finds the tag's call and copies the header there.
        private bool StartFrame()
        {
            uint size = (uint)(_header.Bytes[0] | _header.Bytes[1] << 8 | _header.Bytes[2] << 16 | _header.Bytes[3] << 24);
            ushort tag = (ushort)(_header.Bytes[5] | _header.Bytes[6] << 8);
            NinePStreamCall* call = Find(tag);
            uint limit = call != null && (uint)call->Capacity < _limit ? (uint)call->Capacity : _limit;
            if (size < NinePProtocol.HeaderSize || size > MaxSkippable)
            {
                Problem = NinePStreamProblem.BadSize;
                ProblemValue = size;
                Fail(-(int)Errno.EIO);
                return false;
            }
            if (size > limit)
            {
                // Too big for its call: skip the frame's bytes and fail only that call.
                Problem = NinePStreamProblem.Oversized;
                ProblemValue = size;
                if (call != null) Complete(call, -(int)Errno.EIO);
                call = null;
            }
            else if (call == null)
            {
                Problem = NinePStreamProblem.UnknownTag;
                ProblemValue = tag;
            }
            else
            {
                for (int i = 0; i < NinePProtocol.HeaderSize; i++) call->Reply[i] = _header.Bytes[i];
            }
            _target = call;
            _frameSize = size;
            _frameDone = NinePProtocol.HeaderSize;
            return true;
        }

        // The stream ended (the peer closed it): waiting calls fail with EIO, and so do later ones.
        // The problem says whether a reply was cut short and how many calls were left waiting.
        internal void Close()
        {
            if (_broken) return;
            uint partial = PartialFrameBytes;
            if (partial > 0) { Problem = NinePStreamProblem.ClosedMidFrame; ProblemValue = partial; }
            else { Problem = NinePStreamProblem.Closed; ProblemValue = (uint)_waiting; }
            Fail(-(int)Errno.EIO);
        }

        // Breaks the stream: every waiting call completes with `error`, and Register refuses from now on.
        internal void Fail(int error)
        {
            _broken = true;
            _target = null;
            while (_calls != null) Complete(_calls, error);
        }

        // The problem to log (None when there is none), cleared.
        internal NinePStreamProblem TakeProblem(out uint value)
        {
            NinePStreamProblem problem = Problem;
            value = ProblemValue;
            Problem = NinePStreamProblem.None;
            ProblemValue = 0;
            return problem;
        }

        private void Complete(NinePStreamCall* call, int result)
        {
            Unlink(call);
            call->Result = result;
            call->Done = true;
            if (_completed != null) _completed(call);
        }

        private NinePStreamCall* Find(ushort tag)
        {
            for (NinePStreamCall* c = _calls; c != null; c = c->Next)
                if (c->Tag == tag) return c;
            return null;
        }

        private bool Unlink(NinePStreamCall* call)
        {
            NinePStreamCall** link;
            fixed (NinePStreamCall** head = &_calls) link = head;
            while (*link != null && *link != call) link = &(*link)->Next;
            if (*link != call) return false;
            *link = call->Next;
            call->Next = null;
            _waiting--;
            return true;
        }
    }
}
