using Libra.Arch.X64;

namespace Libra.Drivers
{
    // The PC's CMOS real-time clock (MC146818: index port 0x70, data 0x71): the wall-clock time at
    // boot, to the second. QEMU keeps it in UTC.
    internal static class CmosRtc
    {
        private const ushort Index = 0x70, Data = 0x71;
        private const byte Seconds = 0x00, Minutes = 0x02, Hours = 0x04, Day = 0x07, Month = 0x08, Year = 0x09,
            StatusA = 0x0a, StatusB = 0x0b, Century = 0x32;

        // Seconds since 1970-01-01 UTC, read twice until two readings agree (no update in between).
        internal static ulong ReadUnixSeconds()
        {
            ulong previous = 0;
            for (int attempt = 0; attempt < 10; attempt++)
            {
                while ((Read(StatusA) & 0x80) != 0) Native.Pause();
                ulong now = ReadOnce();
                if (now == previous) return now;
                previous = now;
            }
            return previous;
        }

        private static ulong ReadOnce()
        {
            byte status = Read(StatusB);
            bool binary = (status & 0x04) != 0, twentyFourHour = (status & 0x02) != 0;
            int second = Value(Read(Seconds), binary), minute = Value(Read(Minutes), binary);
            byte rawHour = Read(Hours);
            int hour = Value((byte)(rawHour & 0x7f), binary);
            if (!twentyFourHour && (rawHour & 0x80) != 0) hour = (hour % 12) + 12;
            else if (!twentyFourHour && hour == 12) hour = 0;
            int day = Value(Read(Day), binary), month = Value(Read(Month), binary);
            int year = Value(Read(Year), binary);
            int century = Value(Read(Century), binary);
            year += century >= 19 && century <= 30 ? century * 100 : 2000;
            return (ulong)DaysFromCivil(year, month, day) * 86400 + (ulong)(hour * 3600 + minute * 60 + second);
        }

        // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
        internal static long DaysFromCivil(int year, int month, int day)
        {
            year -= month <= 2 ? 1 : 0;
            int era = (year >= 0 ? year : year - 399) / 400;
            int yearOfEra = year - era * 400;
            int dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
            int dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
            return (long)era * 146097 + dayOfEra - 719468;
        }

        private static int Value(byte raw, bool binary) => binary ? raw : (raw >> 4) * 10 + (raw & 0x0f);

        private static byte Read(byte register)
        {
            Native.OutByte(Index, register);
            return Native.InByte(Data);
        }
    }
}
