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
    /// ``RecordBatch/validate(against:)`` checked) to `out`. Throws when the value is beyond what
    /// PostgreSQL's numeric can hold.
    static func append(_ text: ArraySlice<UInt8>, to out: inout BinaryBuffer) throws(FieldError) {
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

        // Base-10000 groups of the digits, the integer digits padded with zeros on the left
        // to whole groups and the fraction's on the right, computed once, in order. Most values
        // have at most eight: kept in an `InlineArray` (no allocation, and the write's closure
        // then holds no reference to the text); longer ones in an array.
        let leftPad = (4 - integerCount % 4) % 4
        let integerGroups = (integerCount + leftPad) / 4
        let groups = integerGroups + (scale + 3) / 4
        func forEachGroup(_ body: (Int, Int16) -> Void) {
            var position = index, pad = leftPad
            for number in 0 ..< groups {
                var value: Int16 = 0
                for _ in 0 ..< 4 {
                    var digit: Int16 = 0
                    if pad > 0 {
                        pad -= 1
                    } else {
                        if position == dot { position = fractionStart }
                        if position < text.endIndex {
                            digit = Int16(text[position] &- 48)
                            position += 1
                        }
                    }
                    value = value * 10 + digit
                }
                body(number, value)
            }
        }
        if groups <= 8 {
            var local = InlineArray<8, Int16>(repeating: 0)
            forEachGroup { local[$0] = $1 }
            write(groups: groups, integerGroups: integerGroups, isNegative: isNegative, scale: scale, to: &out) { local[$0] }
        } else {
            var all = [Int16](repeating: 0, count: groups)
            forEachGroup { all[$0] = $1 }
            write(groups: groups, integerGroups: integerGroups, isNegative: isNegative, scale: scale, to: &out) { all[$0] }
        }
    }

    /// The header and the groups `group(0 ..< groups)` (of which `integerGroups` come before
    /// the point) of a finite numeric, without its leading and trailing zero groups, in one
    /// reserved run (no capacity check per byte).
    @inline(__always)
    private static func write(groups: Int, integerGroups: Int, isNegative: Bool, scale: Int, to out: inout BinaryBuffer,
                              group: (Int) -> Int16) {
        var firstNonZero = 0
        while firstNonZero < groups, group(firstNonZero) == 0 { firstNonZero += 1 }
        var end = groups
        while end > firstNonZero, group(end - 1) == 0 { end -= 1 }
        // Within the limits above: at most 32768 + 4096 groups, a weight of -4096...32767.
        let isZero = firstNonZero == end
        let weight = isZero ? 0 : integerGroups - 1 - firstNonZero
        let sign = isZero ? positive : (isNegative ? negative : positive)
        out.bytes.append(addingCapacity: 8 + 2 * (end - firstNonZero)) { span in
            bigEndian(Int16(bitPattern: UInt16(end - firstNonZero)), to: &span)
            bigEndian(Int16(weight), to: &span)
            bigEndian(sign, to: &span)
            bigEndian(Int16(scale), to: &span)
            for number in firstNonZero ..< end { bigEndian(group(number), to: &span) }
        }
    }

    @inline(__always)
    private static func bigEndian(_ value: Int16, to span: inout OutputSpan<UInt8>) {
        let bits = UInt16(bitPattern: value)
        span.append(UInt8(truncatingIfNeeded: bits >> 8))
        span.append(UInt8(truncatingIfNeeded: bits))
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
