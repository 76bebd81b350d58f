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
        let length = Swift.max(width, count)
        let start = out.count
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: length))
        var rest = value
        var position = start + length - 1
        repeat {
            out[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            position -= 1
        } while rest > 0
    }
}
