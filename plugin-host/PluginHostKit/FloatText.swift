/// Reads the text of a JSON number as a float without building a string when the result is
/// exact by construction (Clinger's fast path): a decimal mantissa of at most `F`'s significand
/// bits times or over a power of ten that `F` holds exactly is one correctly rounded IEEE
/// operation on exact operands. Any other number returns nil and is read by `F(String)`.
enum FloatText {
    /// 10^0 ... 10^22, each exact in a Double (and up to 10^10 in a Float).
    private static let powersOfTen: [Double] = {
        var powers: [Double] = [1]
        while powers.count <= 22 { powers.append(powers[powers.count - 1] * 10) }
        return powers
    }()
    /// The float of `text`, a JSON number (`-?digits(.digits)?([eE][+-]?digits)?`), when the
    /// fast path applies; nil otherwise (including text that is not such a number).
    static func exact<F: BinaryFloatingPoint>(_ text: Span<UInt8>, as: F.Type) -> F? {
        // The largest mantissa and power of ten both exact in F.
        let maxMantissa: UInt64 = F.self == Float.self ? 1 << 24 : 1 << 53
        let maxPower = F.self == Float.self ? 10 : 22
        var index = 0
        let negative = index < text.count && text[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var mantissa: UInt64 = 0, digits = 0, fractionDigits = 0, sawPoint = false
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                guard !sawPoint, digits > 0 else { return nil }
                sawPoint = true
            } else if byte &- UInt8(ascii: "0") < 10 {
                // 19 digits always fit a UInt64; the mantissa bound is checked after.
                guard digits < 19 else { return nil }
                mantissa = mantissa * 10 + UInt64(byte &- UInt8(ascii: "0"))
                digits += 1
                if sawPoint { fractionDigits += 1 }
            } else {
                break
            }
            index += 1
        }
        guard digits > 0, mantissa <= maxMantissa else { return nil }
        var exponent = 0
        if index < text.count {
            guard text[index] | 0x20 == UInt8(ascii: "e") else { return nil }
            index += 1
            var exponentNegative = false
            if index < text.count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
                exponentNegative = text[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < text.count else { return nil }
            while index < text.count {
                let digit = text[index] &- UInt8(ascii: "0")
                guard digit < 10, exponent < 1_000 else { return nil }
                exponent = exponent * 10 + Int(digit)
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        let power = exponent - fractionDigits
        guard abs(power) <= maxPower else { return nil }
        let scale = F(powersOfTen[abs(power)])
        let magnitude = power >= 0 ? F(mantissa) * scale : F(mantissa) / scale
        return negative ? -magnitude : magnitude
    }
}
