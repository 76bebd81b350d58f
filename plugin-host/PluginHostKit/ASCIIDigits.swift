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
        var count = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            count += 1
        }
        let total = max(width, count)
        // Zeros first, then the digits from the last one back, straight into the array's new
        // capacity: each digit is a remainder by the constant 10 (a multiplication), where
        // dividing by a running power of ten from the first digit on cost a division each.
        out.append(addingCapacity: total) { digits in
            digits.append(repeating: UInt8(ascii: "0"), count: total)
            var rest = value, index = total - 1
            while rest >= 10 {
                digits[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
                index -= 1
            }
            digits[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest)
        }
    }
}
