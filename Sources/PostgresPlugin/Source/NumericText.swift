/// Writes PostgreSQL's binary numeric as canonical decimal text (the server's own rendering).
enum NumericText {
    private static let nan = Array("NaN".utf8)
    private static let infinity = Array("Infinity".utf8)
    private static let negativeInfinity = Array("-Infinity".utf8)

    /// Appends the text of the numeric at `bytes[start ..< start + length]` to `out`.
    static func append(_ bytes: [UInt8], _ start: Int, _ length: Int, to out: inout [UInt8]) throws(CopyFormatError) {
        guard length >= 8 else { throw CopyFormatError(message: "numeric field too short") }
        let count = Int(BigEndian.u16(bytes, start))
        let weight = Int(Int16(bitPattern: BigEndian.u16(bytes, start + 2)))
        let sign = BigEndian.u16(bytes, start + 4)
        let scale = Int(BigEndian.u16(bytes, start + 6))
        guard length >= 8 + 2 * count else { throw CopyFormatError(message: "numeric field too short") }
        switch sign {
        case 0xC000: out.append(contentsOf: nan); return
        case 0xD000: out.append(contentsOf: infinity); return
        case 0xF000: out.append(contentsOf: negativeInfinity); return
        default: break
        }
        for index in 0 ..< count where BigEndian.u16(bytes, start + 8 + 2 * index) >= 10000 {
            throw CopyFormatError(message: "numeric digit group over 9999")
        }
        func digit(_ index: Int) -> Int {
            index >= 0 && index < count ? Int(BigEndian.u16(bytes, start + 8 + 2 * index)) : 0
        }
        let negative = sign == 0x4000
        let lead = weight < 0 ? 0 : digit(0)
        let leadDigits = lead >= 1000 ? 4 : lead >= 100 ? 3 : lead >= 10 ? 2 : 1
        let length = (negative ? 1 : 0) + leadDigits + 4 * max(weight, 0) + (scale > 0 ? 1 + scale : 0)
        // Written in one reserved run: a byte at a time, each append checked the array's
        // uniqueness and capacity. Up to four groups (most values) are read first, so the run's
        // closure holds integers, not the row's bytes (retained and released at every value).
        if count <= 4 {
            let groups = (digit(0), digit(1), digit(2), digit(3))
            out.append(addingCapacity: length) { span in
                write(negative: negative, lead: lead, leadDigits: leadDigits, weight: weight, scale: scale, to: &span) { index in
                    switch index {
                    case 0: groups.0
                    case 1: groups.1
                    case 2: groups.2
                    case 3: groups.3
                    default: 0
                    }
                }
            }
        } else {
            out.append(addingCapacity: length) { span in
                write(negative: negative, lead: lead, leadDigits: leadDigits, weight: weight, scale: scale, to: &span, digit: digit)
            }
        }
    }

    /// The text of a finite numeric whose base-10000 group `index` is `digit(index)`.
    @inline(__always)
    private static func write(negative: Bool, lead: Int, leadDigits: Int, weight: Int, scale: Int, to span: inout OutputSpan<UInt8>,
                              digit: (Int) -> Int) {
        if negative { span.append(UInt8(ascii: "-")) }
        appendGroup(lead, digits: leadDigits, to: &span)
        if weight > 0 {
            for index in 1 ... weight { appendGroup(digit(index), digits: 4, to: &span) }
        }
        guard scale > 0 else { return }
        span.append(UInt8(ascii: "."))
        var remaining = scale
        var index = weight + 1
        while remaining > 0 {
            let take = min(4, remaining)
            // The group's leading `take` digits.
            let group = digit(index)
            appendGroup(take == 4 ? group : take == 3 ? group / 10 : take == 2 ? group / 100 : group / 1000, digits: take, to: &span)
            remaining -= take
            index += 1
        }
    }

    /// The last `digits` (1 to 4) decimal digits of `value`, zeros first. No table of powers:
    /// reading a static array retained and released it at every group.
    @inline(__always)
    private static func appendGroup(_ value: Int, digits: Int, to out: inout OutputSpan<UInt8>) {
        if digits >= 4 { out.append(UInt8(48 + value / 1000 % 10)) }
        if digits >= 3 { out.append(UInt8(48 + value / 100 % 10)) }
        if digits >= 2 { out.append(UInt8(48 + value / 10 % 10)) }
        out.append(UInt8(48 + value % 10))
    }
}
