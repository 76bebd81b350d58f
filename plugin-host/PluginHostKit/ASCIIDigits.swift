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
        if width > count { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - count)) }
        var divisor: UInt64 = 1
        for _ in 1 ..< count { divisor &*= 10 }
        // Most significant digit first, straight into the array's new capacity.
        out.append(addingCapacity: count) { digits in
            while divisor > 0 {
                digits.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value / divisor % 10))
                divisor /= 10
            }
        }
    }
}
