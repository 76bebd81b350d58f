/// ISO-8601 text for the protocol's dates and times (proleptic Gregorian, astronomical years:
/// year 0 is 1 BC, so 4713 BC is `-4712`), both ways.
enum TemporalText {
    static let microsPerDay: Int64 = 86_400_000_000
    static let microsPerSecond: Int64 = 1_000_000

    // MARK: - Civil calendar

    /// Year, month, day of `days` since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
    static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let year = month <= 2 ? year - 1 : year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let monthShifted = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * monthShifted + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func daysInMonth(year: Int64, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // MARK: - Formatting

    /// Capacity every formatted value fits in: each number at most 20 digits (a UInt64) plus its
    /// separators. One reservation per value (each digit group reserving its own cost as much
    /// as the digits).
    private static let formattedCapacity = 80

    /// `YYYY-MM-DD`, `-YYYY-MM-DD` before year 0, `infinity`/`-infinity` for the sentinels.
    static func appendDate(_ days: Int32, to out: inout [UInt8]) {
        out.append(addingCapacity: formattedCapacity) { span in
            if days == .max { return appendASCII("infinity", to: &span) }
            if days == .min { return appendASCII("-infinity", to: &span) }
            appendCivilDate(Int64(days), to: &span)
        }
    }

    private static func appendCivilDate(_ days: Int64, to out: inout OutputSpan<UInt8>) {
        let (year, month, day) = civil(fromDays: days)
        if year < 0 { out.append(UInt8(ascii: "-")) }
        ASCIIDigits.appendPadded(year.magnitude, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        ASCIIDigits.appendPadded(UInt64(month), width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        ASCIIDigits.appendPadded(UInt64(day), width: 2, to: &out)
    }

    /// `HH:MM:SS.ffffff` of microseconds since midnight (`24:00:00.000000` included).
    static func appendTime(_ micros: Int64, to out: inout [UInt8]) {
        out.append(addingCapacity: formattedCapacity) { appendTime(micros, to: &$0) }
    }

    private static func appendTime(_ micros: Int64, to out: inout OutputSpan<UInt8>) {
        let seconds = micros / microsPerSecond
        ASCIIDigits.appendPadded(UInt64(seconds / 3600), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        ASCIIDigits.appendPadded(UInt64(seconds / 60 % 60), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        ASCIIDigits.appendPadded(UInt64(seconds % 60), width: 2, to: &out)
        out.append(UInt8(ascii: "."))
        ASCIIDigits.appendPadded(UInt64(micros % microsPerSecond), width: 6, to: &out)
    }

    /// `+HH:MM` (or `+HH:MM:SS` for an offset with seconds), east of UTC.
    static func appendOffset(_ seconds: Int32, to out: inout [UInt8]) {
        out.append(addingCapacity: formattedCapacity) { out in
            out.append(seconds < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let magnitude = UInt64(seconds.magnitude)
            ASCIIDigits.appendPadded(magnitude / 3600, width: 2, to: &out)
            out.append(UInt8(ascii: ":"))
            ASCIIDigits.appendPadded(magnitude / 60 % 60, width: 2, to: &out)
            if magnitude % 60 != 0 {
                out.append(UInt8(ascii: ":"))
                ASCIIDigits.appendPadded(magnitude % 60, width: 2, to: &out)
            }
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffff` (plus `Z` when `utc`), `infinity`/`-infinity` for the sentinels.
    static func appendTimestamp(_ micros: Int64, utc: Bool, to out: inout [UInt8]) {
        out.append(addingCapacity: formattedCapacity) { span in
            if micros == .max { return appendASCII("infinity", to: &span) }
            if micros == .min { return appendASCII("-infinity", to: &span) }
            let (days, remainder) = floorDivision(micros, microsPerDay)
            appendCivilDate(days, to: &span)
            span.append(UInt8(ascii: "T"))
            appendTime(remainder, to: &span)
            if utc { span.append(UInt8(ascii: "Z")) }
        }
    }

    private static func appendASCII(_ text: String, to out: inout OutputSpan<UInt8>) {
        for byte in text.utf8 { out.append(byte) }
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value / divisor, remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    // MARK: - Parsing

    /// Days since 1970-01-01 of `[+-]YYYY-MM-DD` or `infinity`/`-infinity`.
    static func parseDate(_ text: String) -> Int32? { parseDate(text.utf8.span) }

    /// `parseDate` of UTF-8 text.
    static func parseDate(_ text: Span<UInt8>) -> Int32? {
        if let infinity = infinity(text) { return infinity ? .max : .min }
        var scanner = Scanner(text)
        guard let days = scanner.date(text), scanner.atEnd, let value = Int32(exactly: days), value != .max, value != .min else { return nil }
        return value
    }

    /// Microseconds since midnight of `HH:MM:SS[.ffffff]` (up to `24:00:00`).
    static func parseTime(_ text: String) -> Int64? { parseTime(text.utf8.span) }

    /// `parseTime` of UTF-8 text.
    static func parseTime(_ text: Span<UInt8>) -> Int64? {
        var scanner = Scanner(text)
        guard let micros = scanner.time(text), scanner.atEnd else { return nil }
        return micros
    }

    /// Local microseconds and offset (seconds east) of `HH:MM:SS[.ffffff]` plus `Z` or `±HH:MM[:SS]`.
    static func parseTimeWithZone(_ text: String) -> (micros: Int64, offset: Int32)? { parseTimeWithZone(text.utf8.span) }

    /// `parseTimeWithZone` of UTF-8 text.
    static func parseTimeWithZone(_ text: Span<UInt8>) -> (micros: Int64, offset: Int32)? {
        var scanner = Scanner(text)
        guard let micros = scanner.time(text), let offset = scanner.offset(text), scanner.atEnd else { return nil }
        return (micros, offset)
    }

    /// Microseconds since 1970-01-01 of `YYYY-MM-DD[T ]HH:MM:SS[.ffffff]`; with `zoned`, an
    /// optional `Z` or `±HH:MM` converts it to UTC (no zone means UTC). `infinity`/`-infinity` too.
    static func parseTimestamp(_ text: String, zoned: Bool) -> Int64? { parseTimestamp(text.utf8.span, zoned: zoned) }

    /// `parseTimestamp` of UTF-8 text.
    static func parseTimestamp(_ text: Span<UInt8>, zoned: Bool) -> Int64? {
        if let micros = canonicalTimestamp(text, zoned: zoned) { return micros }
        if let infinity = infinity(text) { return infinity ? .max : .min }
        var scanner = Scanner(text)
        guard let days = scanner.date(text) else { return nil }
        var micros: Int64 = 0
        if scanner.take(UInt8(ascii: "T"), text) || scanner.take(UInt8(ascii: " "), text) {
            guard let time = scanner.time(text) else { return nil }
            micros = time
        }
        var offset: Int32 = 0
        if zoned, !scanner.atEnd {
            guard let parsed = scanner.offset(text) else { return nil }
            offset = parsed
        }
        guard scanner.atEnd else { return nil }
        let (dayMicros, overflowDays) = days.multipliedReportingOverflow(by: microsPerDay)
        guard !overflowDays else { return nil }
        let (local, overflowTime) = dayMicros.addingReportingOverflow(micros)
        let (utc, overflowZone) = local.subtractingReportingOverflow(Int64(offset) * microsPerSecond)
        guard !overflowTime, !overflowZone, utc != .max, utc != .min else { return nil }
        return utc
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffff`, and `Z` after it when `zoned` (as `read` writes them), read
    /// at fixed positions without the scanner; nil for any other text (which the scanner reads,
    /// by the same checks: ``civilDays(year:month:day:)``, ``dayMicros(hours:minutes:seconds:fraction:)``).
    private static func canonicalTimestamp(_ text: Span<UInt8>, zoned: Bool) -> Int64? {
        guard text.count == 26 || zoned && text.count == 27 && text[26] == UInt8(ascii: "Z"),
              text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-"), text[10] == UInt8(ascii: "T"),
              text[13] == UInt8(ascii: ":"), text[16] == UInt8(ascii: ":"), text[19] == UInt8(ascii: "."),
              let year = digits(text, 0, 4), let month = digits(text, 5, 2), let day = digits(text, 8, 2),
              let hours = digits(text, 11, 2), let minutes = digits(text, 14, 2), let seconds = digits(text, 17, 2),
              let fraction = digits(text, 20, 6),
              let days = civilDays(year: year, month: month, day: day),
              let micros = dayMicros(hours: hours, minutes: minutes, seconds: seconds, fraction: fraction) else { return nil }
        // A four-digit year keeps the product far from overflow and from the infinities.
        return days * microsPerDay + micros
    }

    /// The number of the `count` decimal digits of `text` at `start`; nil when one is not a digit.
    @inline(__always)
    private static func digits(_ text: Span<UInt8>, _ start: Int, _ count: Int) -> Int64? {
        var value: Int64 = 0
        for index in start ..< start + count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int64(digit)
        }
        return value
    }

    /// Days since 1970-01-01 of a date whose month and day exist; nil otherwise.
    private static func civilDays(year: Int64, month: Int64, day: Int64) -> Int64? {
        guard (1...12).contains(month), (1...Int64(daysInMonth(year: year, month: Int(month)))).contains(day) else { return nil }
        return days(year: year, month: Int(month), day: Int(day))
    }

    /// Microseconds since midnight, up to `24:00:00` (`fraction` in microseconds); nil past it
    /// or for minutes or seconds over 59.
    private static func dayMicros(hours: Int64, minutes: Int64, seconds: Int64, fraction: Int64) -> Int64? {
        guard hours <= 24, minutes < 60, seconds < 60 else { return nil }
        let micros = ((hours * 60 + minutes) * 60 + seconds) * microsPerSecond + fraction
        return micros <= microsPerDay ? micros : nil
    }

    /// True for `infinity`, false for `-infinity`, nil for any other text.
    private static func infinity(_ text: Span<UInt8>) -> Bool? {
        let negative = text.count == 9 && text[0] == UInt8(ascii: "-")
        guard text.count == (negative ? 9 : 8) else { return nil }
        var offset = negative ? 1 : 0
        for byte in "infinity".utf8 {
            guard text[offset] == byte else { return nil }
            offset += 1
        }
        return !negative
    }

    /// Reads the parts of date and time text: a position in it, the text passed to each call.
    private struct Scanner {
        var index = 0
        let end: Int

        init(_ text: Span<UInt8>) {
            end = text.count
        }

        var atEnd: Bool { index == end }

        mutating func take(_ byte: UInt8, _ bytes: Span<UInt8>) -> Bool {
            guard index < end, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// Up to `maxDigits` decimal digits (at least `minDigits`).
        mutating func number(minDigits: Int, maxDigits: Int, _ bytes: Span<UInt8>) -> (value: Int64, digits: Int)? {
            var value: Int64 = 0, count = 0
            while index < end, count < maxDigits {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                value = value * 10 + Int64(digit)
                count += 1
                index += 1
            }
            return count >= minDigits ? (value, count) : nil
        }

        mutating func date(_ bytes: Span<UInt8>) -> Int64? {
            let negative = take(UInt8(ascii: "-"), bytes)
            if !negative { _ = take(UInt8(ascii: "+"), bytes) }
            guard let year = number(minDigits: 4, maxDigits: 7, bytes), take(UInt8(ascii: "-"), bytes),
                  let month = number(minDigits: 2, maxDigits: 2, bytes), take(UInt8(ascii: "-"), bytes),
                  let day = number(minDigits: 2, maxDigits: 2, bytes) else { return nil }
            return TemporalText.civilDays(year: negative ? -year.value : year.value, month: month.value, day: day.value)
        }

        mutating func time(_ bytes: Span<UInt8>) -> Int64? {
            guard let hours = number(minDigits: 2, maxDigits: 2, bytes), take(UInt8(ascii: ":"), bytes),
                  let minutes = number(minDigits: 2, maxDigits: 2, bytes), take(UInt8(ascii: ":"), bytes),
                  let seconds = number(minDigits: 2, maxDigits: 2, bytes) else { return nil }
            var fraction: Int64 = 0
            if take(UInt8(ascii: "."), bytes) {
                guard let digits = number(minDigits: 1, maxDigits: 6, bytes) else { return nil }
                fraction = digits.value
                for _ in digits.digits..<6 { fraction *= 10 }
            }
            return TemporalText.dayMicros(hours: hours.value, minutes: minutes.value, seconds: seconds.value, fraction: fraction)
        }

        /// `Z`, or `±HH`, `±HH:MM`, `±HH:MM:SS`, as seconds east of UTC.
        mutating func offset(_ bytes: Span<UInt8>) -> Int32? {
            if take(UInt8(ascii: "Z"), bytes) { return 0 }
            let sign: Int32
            if take(UInt8(ascii: "+"), bytes) { sign = 1 } else if take(UInt8(ascii: "-"), bytes) { sign = -1 } else { return nil }
            guard let hours = number(minDigits: 2, maxDigits: 2, bytes), hours.value <= 15 else { return nil }
            var seconds = Int32(hours.value) * 3600
            if take(UInt8(ascii: ":"), bytes) {
                guard let minutes = number(minDigits: 2, maxDigits: 2, bytes), minutes.value < 60 else { return nil }
                seconds += Int32(minutes.value) * 60
                if take(UInt8(ascii: ":"), bytes) {
                    guard let extra = number(minDigits: 2, maxDigits: 2, bytes), extra.value < 60 else { return nil }
                    seconds += Int32(extra.value)
                }
            }
            return sign * seconds
        }
    }
}
