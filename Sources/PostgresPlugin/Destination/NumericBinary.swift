/// PostgreSQL's binary `numeric`: ndigits, weight, sign, dscale, then base-10000 digits,
/// written from the protocol's canonical decimal text without going through a double.
enum NumericBinary {
    static let positive: Int16 = 0x0000
    static let negative: Int16 = 0x4000
    static let nan = Int16(bitPattern: 0xC000)
    static let plusInfinity = Int16(bitPattern: 0xD000)
    static let minusInfinity = Int16(bitPattern: 0xF000)
    /// PostgreSQL's limits: 131072 digits before the decimal point (a weight of at most
    /// 32767 base-10000 groups) and 16383 after it (`NUMERIC_DSCALE_MAX`).
    static let maxIntegerDigits = 131_072
    static let maxScale = 16_383

    /// Appends the field body (no length) of the decimal text `text` (valid §5.6 text, which
    /// ``RecordBatch/validate(against:)`` checked) to `out`; `digits` is scratch space reused
    /// between calls. Throws when the value is beyond what PostgreSQL's numeric can hold.
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
        // Frames carry canonical decimal text (checked when decoded); anything else fails
        // here rather than overflowing the digit groups below.
        guard text[index ..< dot].allSatisfy({ $0 &- 48 < 10 }), text[fractionStart...].allSatisfy({ $0 &- 48 < 10 }) else {
            throw FieldError(reason: "\"\(String(decoding: text, as: UTF8.self))\" is not decimal text")
        }
        try checkRange(integerDigits: integerCount, scale: scale)

        digits.removeAll(keepingCapacity: true)
        var group: Int16 = 0
        var filled = (4 - integerCount % 4) % 4
        for position in index..<dot {
            group = group * 10 + Int16(text[position] &- 48)
            filled += 1
            if filled == 4 { digits.append(group); group = 0; filled = 0 }
        }
        var weight = digits.count - 1
        for position in fractionStart..<text.endIndex {
            group = group * 10 + Int16(text[position] &- 48)
            filled += 1
            if filled == 4 { digits.append(group); group = 0; filled = 0 }
        }
        if filled > 0 {
            while filled < 4 { group *= 10; filled += 1 }
            digits.append(group)
        }
        var start = 0
        while start < digits.count, digits[start] == 0 { start += 1; weight -= 1 }
        var end = digits.count
        while end > start, digits[end - 1] == 0 { end -= 1 }
        if start == end { weight = 0 }
        // Within the limits above: at most 32768 + 4096 groups, a weight of -4096...32767.
        out.int16(Int16(bitPattern: UInt16(end - start)))
        out.int16(Int16(weight))
        out.int16(start == end ? positive : (isNegative ? negative : positive))
        out.int16(Int16(scale))
        for position in start..<end { out.int16(digits[position]) }
    }

    /// Fails when the decimal text `text` is beyond PostgreSQL's numeric.
    static func checkRange(_ text: ArraySlice<UInt8>) throws(FieldError) {
        var start = text.startIndex
        if start < text.endIndex, text[start] == UInt8(ascii: "-") { start += 1 }
        while start < text.endIndex, text[start] == UInt8(ascii: "0") { start += 1 }
        let dot = text[start...].firstIndex(of: UInt8(ascii: ".")) ?? text.endIndex
        try checkRange(integerDigits: dot - start, scale: dot < text.endIndex ? text.endIndex - dot - 1 : 0)
    }

    private static func checkRange(integerDigits: Int, scale: Int) throws(FieldError) {
        guard integerDigits <= maxIntegerDigits else {
            throw FieldError(reason: "a numeric with \(integerDigits) digits before the decimal point is beyond PostgreSQL's limit of \(maxIntegerDigits)")
        }
        guard scale <= maxScale else {
            throw FieldError(reason: "a numeric with \(scale) digits after the decimal point is beyond PostgreSQL's limit of \(maxScale)")
        }
    }

    private static func special(_ sign: Int16, _ out: inout BinaryBuffer) {
        out.int16(0)
        out.int16(0)
        out.int16(sign)
        out.int16(0)
    }
}
