namespace Libra.Diagnostics
{
    // How to find the caller's frame at one code address: CFA = (RSP or RBP) + offset; the return
    // address and (if saved) the caller's RBP sit at fixed offsets from the CFA.
    internal struct UnwindRule
    {
        internal const int Rbp = 6, Rsp = 7, ReturnAddress = 16;

        internal int CfaRegister;
        internal long CfaOffset;
        internal bool RbpSaved;
        internal long RbpOffset;
        internal long ReturnAddressOffset;
    }

    // A reader of the image's .eh_frame (DWARF call frame information, as the System V x86-64 ABI
    // §3.7 and the LSB "Exception Frames" chapter describe it), enough for ILC's CFI: CIEs with "zLR"
    // augmentations, pc-relative FDE pointers, and the advance/offset/def_cfa instruction family.
    // `runtimeBase` is the address the section is loaded at (the pointer itself in the kernel).
    internal readonly unsafe struct EhFrame
    {
        private readonly byte* _start;
        private readonly ulong _length;
        private readonly ulong _runtimeBase;

        internal EhFrame(byte* start, ulong length, ulong runtimeBase)
        {
            _start = start;
            _length = length;
            _runtimeBase = runtimeBase;
        }

        // The rule in force at `pc`; false when no FDE covers it or its CFI is beyond this reader.
        internal bool FindRule(ulong pc, out UnwindRule rule)
        {
            rule = default;
            ulong at = 0;
            while (at + 8 <= _length)
            {
                uint length = *(uint*)(_start + at);
                if (length == 0 || length == 0xffffffff) return false;   // terminator, or 64-bit DWARF (never emitted here)
                ulong entry = at + 4, end = entry + length;
                if (end > _length) return false;
                uint cieDelta = *(uint*)(_start + entry);
                if (cieDelta != 0 && TryFde(entry, end, cieDelta, pc, ref rule, out bool covered) && covered) return true;
                at = end;
            }
            return false;
        }

        private bool TryFde(ulong idField, ulong end, uint cieDelta, ulong pc, ref UnwindRule rule, out bool covered)
        {
            covered = false;
            ulong cie = idField - cieDelta;
            if (!ReadCie(cie, out Cie info)) return false;
            ulong p = idField + 4;
            ulong begin = ReadEncoded(ref p, info.PointerEncoding);
            ulong range = ReadEncoded(ref p, (byte)(info.PointerEncoding & 0x0f));
            if (pc < begin || pc >= begin + range) return true;
            covered = true;
            if (info.HasAugmentationData) { ulong skip = ReadUleb(ref p); p += skip; }

            var initial = new UnwindRule { CfaRegister = UnwindRule.Rsp, CfaOffset = 8, ReturnAddressOffset = -8 };
            if (!Execute(info.Instructions, info.InstructionsEnd, info, ulong.MaxValue, 0, ref initial, initial)) return false;
            rule = initial;
            return Execute(p, end, info, pc, begin, ref rule, initial);
        }

        private struct Cie
        {
            internal ulong CodeAlign;
            internal long DataAlign;
            internal byte PointerEncoding;
            internal bool HasAugmentationData;
            internal ulong Instructions, InstructionsEnd;
        }

        private bool ReadCie(ulong idField, out Cie cie)
        {
            cie = default;
            if (idField < 4) return false;
            uint length = *(uint*)(_start + idField - 4);
            ulong end = idField + length;
            if (end > _length || *(uint*)(_start + idField) != 0) return false;
            ulong p = idField + 4;
            byte version = _start[p++];
            ulong augmentation = p;
            while (p < end && _start[p] != 0) p++;
            p++;
            cie.CodeAlign = ReadUleb(ref p);
            cie.DataAlign = ReadSleb(ref p);
            if (version == 1) p++; else ReadUleb(ref p);                  // return address register
            cie.PointerEncoding = 0x00;                                    // absolute 8-byte pointers unless 'R'
            for (ulong a = augmentation; _start[a] != 0; a++)
            {
                byte c = _start[a];
                if (c == 'z') { cie.HasAugmentationData = true; ReadUleb(ref p); }
                else if (c == 'L') p++;
                else if (c == 'R') cie.PointerEncoding = _start[p++];
                else if (c == 'P') { byte encoding = _start[p++]; ReadEncoded(ref p, encoding); }
                else if (c == 'S') { }
                else return false;
            }
            cie.Instructions = p;
            cie.InstructionsEnd = end;
            return true;
        }

        // Runs CFA instructions from `p` while the location stays at or below `pc`.
        private bool Execute(ulong p, ulong end, in Cie cie, ulong pc, ulong location, ref UnwindRule rule, in UnwindRule initial)
        {
            UnwindRule remembered = rule;
            while (p < end)
            {
                byte op = _start[p++];
                ulong advance = 0;
                switch (op >> 6)
                {
                    case 1: advance = (ulong)(op & 0x3f) * cie.CodeAlign; break;
                    case 2: SetSaved(ref rule, op & 0x3f, (long)ReadUleb(ref p) * cie.DataAlign); continue;
                    case 3: Restore(ref rule, op & 0x3f, initial); continue;
                }
                if (op >> 6 == 0)
                {
                    switch (op)
                    {
                        case 0x00: continue;
                        case 0x01: location = ReadEncoded(ref p, cie.PointerEncoding); if (location > pc) return true; continue;
                        case 0x02: advance = _start[p] * cie.CodeAlign; p += 1; break;
                        case 0x03: advance = *(ushort*)(_start + p) * cie.CodeAlign; p += 2; break;
                        case 0x04: advance = *(uint*)(_start + p) * cie.CodeAlign; p += 4; break;
                        case 0x05: { int reg = (int)ReadUleb(ref p); SetSaved(ref rule, reg, (long)ReadUleb(ref p) * cie.DataAlign); continue; }
                        case 0x06: Restore(ref rule, (int)ReadUleb(ref p), initial); continue;
                        case 0x07: case 0x08: { int reg = (int)ReadUleb(ref p); if (reg == UnwindRule.Rbp) rule.RbpSaved = false; continue; }
                        case 0x09: ReadUleb(ref p); ReadUleb(ref p); continue;
                        case 0x0a: remembered = rule; continue;
                        case 0x0b: rule = remembered; continue;
                        case 0x0c: rule.CfaRegister = (int)ReadUleb(ref p); rule.CfaOffset = (long)ReadUleb(ref p); continue;
                        case 0x0d: rule.CfaRegister = (int)ReadUleb(ref p); continue;
                        case 0x0e: rule.CfaOffset = (long)ReadUleb(ref p); continue;
                        case 0x11: { int reg = (int)ReadUleb(ref p); SetSaved(ref rule, reg, ReadSleb(ref p) * cie.DataAlign); continue; }
                        case 0x12: rule.CfaRegister = (int)ReadUleb(ref p); rule.CfaOffset = ReadSleb(ref p) * cie.DataAlign; continue;
                        case 0x13: rule.CfaOffset = ReadSleb(ref p) * cie.DataAlign; continue;
                        case 0x2e: ReadUleb(ref p); continue;
                        default: return false;
                    }
                }
                location += advance;
                if (location > pc) return true;
            }
            return true;
        }

        private static void SetSaved(ref UnwindRule rule, int register, long offset)
        {
            if (register == UnwindRule.Rbp) { rule.RbpSaved = true; rule.RbpOffset = offset; }
            else if (register == UnwindRule.ReturnAddress) rule.ReturnAddressOffset = offset;
        }

        private static void Restore(ref UnwindRule rule, int register, in UnwindRule initial)
        {
            if (register == UnwindRule.Rbp) { rule.RbpSaved = initial.RbpSaved; rule.RbpOffset = initial.RbpOffset; }
            else if (register == UnwindRule.ReturnAddress) rule.ReturnAddressOffset = initial.ReturnAddressOffset;
        }

        // A pointer in DW_EH_PE encoding: low nibble = format, bits 4..6 = relative to what (pcrel only).
        private ulong ReadEncoded(ref ulong p, byte encoding)
        {
            ulong fieldAddress = _runtimeBase + p;
            ulong value;
            switch (encoding & 0x0f)
            {
                case 0x00: value = *(ulong*)(_start + p); p += 8; break;
                case 0x01: value = ReadUleb(ref p); break;
                case 0x02: value = *(ushort*)(_start + p); p += 2; break;
                case 0x03: value = *(uint*)(_start + p); p += 4; break;
                case 0x04: value = *(ulong*)(_start + p); p += 8; break;
                case 0x09: value = (ulong)ReadSleb(ref p); break;
                case 0x0a: value = (ulong)(long)*(short*)(_start + p); p += 2; break;
                case 0x0b: value = (ulong)(long)*(int*)(_start + p); p += 4; break;
                case 0x0c: value = *(ulong*)(_start + p); p += 8; break;
                default: return 0;
            }
            if ((encoding & 0x70) == 0x10) value += fieldAddress;
            return value;
        }

        private ulong ReadUleb(ref ulong p)
        {
            ulong result = 0;
            int shift = 0;
            byte b;
            do
            {
                b = _start[p++];
                if (shift < 64) result |= (ulong)(b & 0x7f) << shift;
                shift += 7;
            } while ((b & 0x80) != 0 && p < _length);
            return result;
        }

        private long ReadSleb(ref ulong p)
        {
            long result = 0;
            int shift = 0;
            byte b;
            do
            {
                b = _start[p++];
                if (shift < 64) result |= (long)(b & 0x7f) << shift;
                shift += 7;
            } while ((b & 0x80) != 0 && p < _length);
            if (shift < 64 && (b & 0x40) != 0) result |= -1L << shift;
            return result;
        }
    }
}
