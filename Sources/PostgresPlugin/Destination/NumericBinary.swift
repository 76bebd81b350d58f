/// PostgreSQL's binary `numeric`: ndigits, weight, sign, dscale, then base-10000 digits,
/// written from the protocol's canonical decimal text without going through a double.
enum NumericBinary {
    /// PostgreSQL's limits: a weight of at most 32767 base-10000 digits before the point, a
    /// display scale of at most 16383 (NUMERIC_WEIGHT_MAX and NUMERIC_DSCALE_MAX).
    static let maxIntegerDigits = 131_072
    static let maxScale = 16_383

    static let positive: Int16 = 0x0000
    static let negative: Int16 = 0x4000
    static let nan = Int16(bitPattern: 0xC000)
    static let plusInfinity = Int16(bitPattern: 0xD000)
    static let minusInfinity = Int16(bitPattern: 0xF000)

    /// Appends the field body (no length) of the decimal text `text` to `out`;
    /// `digits` is scratch space reused between calls. Throws for a number outside
    /// PostgreSQL's range, which its weight and scale fields cannot carry.
    static func append(_ text: ArraySlice<UInt8>, to out: inout BinaryBuffer, digits: inout [Int16]) throws(FieldError) {
        guard let first = text.first else { return special(positive, &out) }
        if first == UInt8(ascii: "N") { return special(nan, &out) }
        if first == UInt8(ascii: "I") { return special(plusInfinity, &out) }
        var index = text.startIndex
        let isNegative = first == UInt8(ascii: "-")
        if isNegative || first == UInt8(ascii: "+") { index += 1 }
        if index < text.endIndex, text[index] == UInt8(ascii: "I") { return special(isNegative ? minusInfinity : plusInfinity, &out) }
        let dot = text[index...].firstIndex(of: UInt8(ascii: ".")) ?? text.endIndex
        while index < dot, text[index] == UInt8(ascii: "0") { index += 1 }
        let integerCount = dot - index
        let fractionStart = dot < text.endIndex ? dot + 1 : dot
        let scale = text.endIndex - fractionStart
        guard integerCount <= maxIntegerDigits, scale <= maxScale else {
            throw FieldError(reason: "a decimal with \(integerCount) digits before the point and \(scale) after is outside PostgreSQL's numeric range (\(maxIntegerDigits) and \(maxScale))")
        }

        digits.removeAll(keepingCapacity: true)
        var group = 0
        var filled = (4 - integerCount % 4) % 4
        for position in index..<dot {
            group = group * 10 + Int(text[position] &- 48)
            filled += 1
            if filled == 4 { digits.append(Int16(group)); group = 0; filled = 0 }
        }
        var weight = digits.count - 1
        for position in fractionStart..<text.endIndex {
            group = group * 10 + Int(text[position] &- 48)
            filled += 1
            if filled == 4 { digits.append(Int16(group)); group = 0; filled = 0 }
        }
        if filled > 0 {
            while filled < 4 { group *= 10; filled += 1 }
            digits.append(Int16(group))
        }
        var start = 0
        while start < digits.count, digits[start] == 0 { start += 1; weight -= 1 }
        var end = digits.count
        while end > start, digits[end - 1] == 0 { end -= 1 }
        if start == end { weight = 0 }
        // ndigits is unsigned on the wire (at most 32768 + 4096 here); weight and scale fit.
        out.int16(Int16(truncatingIfNeeded: end - start))
        out.int16(Int16(weight))
        out.int16(start == end ? positive : (isNegative ? negative : positive))
        out.int16(Int16(scale))
        for position in start..<end { out.int16(digits[position]) }
    }

    private static func special(_ sign: Int16, _ out: inout BinaryBuffer) {
        out.int16(0)
        out.int16(0)
        out.int16(sign)
        out.int16(0)
    }
}
