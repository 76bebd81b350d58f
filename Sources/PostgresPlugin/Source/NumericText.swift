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
        // uniqueness and capacity.
        out.append(addingCapacity: length) { span in
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
                appendGroup(digit(index) / pow10[4 - take], digits: take, to: &span)
                remaining -= take
                index += 1
            }
        }
    }

    private static let pow10 = [1, 10, 100, 1000, 10000]

    /// The last `digits` decimal digits of `value`, zeros first.
    @inline(__always)
    private static func appendGroup(_ value: Int, digits: Int, to out: inout OutputSpan<UInt8>) {
        var divisor = pow10[digits - 1]
        while divisor > 0 {
            out.append(UInt8(48 + (value / divisor) % 10))
            divisor /= 10
        }
    }
}
