/// Appends integers as ASCII digits without building intermediate strings (hot paths of
/// JSON Lines output).
enum ASCIIDigits {
    /// Appends `value` in decimal, with a leading `-` when negative.
    static func append<I: FixedWidthInteger>(_ value: I, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        appendPadded(UInt64(value.magnitude), width: 1, to: &out)
    }

    /// Appends `value` in decimal, left-padded with zeros to at least `width` digits.
    static func appendPadded(_ value: UInt64, width: Int, to out: inout [UInt8]) {
        out.append(addingCapacity: max(width, maxDigits)) { appendPadded(value, width: width, to: &$0) }
    }

    /// The most digits a UInt64 has.
    static let maxDigits = 20

    /// ``appendPadded(_:width:to:)`` into capacity the caller reserved (`max(width, maxDigits)` suffices).
    static func appendPadded(_ value: UInt64, width: Int, to digits: inout OutputSpan<UInt8>) {
        var count = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            count += 1
        }
        let total = max(width, count)
        // Zeros first, then the digits from the last one back: each digit is a remainder by the
        // constant 10 (a multiplication), where dividing by a running power of ten from the
        // first digit on cost a division each.
        let first = digits.count
        digits.append(repeating: UInt8(ascii: "0"), count: total)
        var rest = value, index = first + total - 1
        while rest >= 10 {
            digits[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            index -= 1
        }
        digits[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest)
    }
}
