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
        func digit(_ index: Int) -> Int {
            index >= 0 && index < count ? Int(BigEndian.u16(bytes, start + 8 + 2 * index)) : 0
        }
        if sign == 0x4000 { out.append(UInt8(ascii: "-")) }
        if weight < 0 {
            out.append(UInt8(ascii: "0"))
        } else {
            for index in 0 ... weight {
                let value = digit(index)
                if index == 0 {
                    appendDecimal(value, to: &out)
                } else {
                    appendGroup(value, digits: 4, to: &out)
                }
            }
        }
        guard scale > 0 else { return }
        out.append(UInt8(ascii: "."))
        var remaining = scale
        var index = weight + 1
        while remaining > 0 {
            let take = min(4, remaining)
            appendGroup(digit(index) / pow10[4 - take], digits: take, to: &out)
            remaining -= take
            index += 1
        }
    }

    private static let pow10 = [1, 10, 100, 1000, 10000]

    private static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &out) }
        out.append(UInt8(48 + value % 10))
    }

    private static func appendGroup(_ value: Int, digits: Int, to out: inout [UInt8]) {
        var divisor = pow10[digits - 1]
        while divisor > 0 {
            out.append(UInt8(48 + (value / divisor) % 10))
            divisor /= 10
        }
    }
}
