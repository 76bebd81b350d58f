/// Turns decimal number text as people and JSON write it (`+1.5`, `.5`, `1e-3`, `007`) into the
/// protocol's canonical decimal text (`1.5`, `0.5`, `0.001`, `7`), exactly, without rounding.
enum DecimalNormalizer {
    /// The largest exponent accepted, to keep `1e999999999` from allocating gigabytes.
    private static let maxExponent = 100_000

    /// The canonical text of `text`, or nil when it is not a decimal number.
    static func canonical(_ text: String) -> String? {
        switch text {
        case "NaN", "Infinity", "-Infinity": return text
        case "+Infinity": return "Infinity"
        default: break
        }
        if isCanonical(text.utf8.span) { return text }
        var bytes = Substring(text).utf8[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        let integerDigits = bytes.prefix { isDigit($0) }
        bytes = bytes.dropFirst(integerDigits.count)
        var fractionDigits = bytes.prefix(0)
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            fractionDigits = bytes.prefix { isDigit($0) }
            bytes = bytes.dropFirst(fractionDigits.count)
        }
        guard !integerDigits.isEmpty || !fractionDigits.isEmpty else { return nil }
        var exponent = 0
        if let marker = bytes.first, marker == UInt8(ascii: "e") || marker == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            var exponentNegative = false
            if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
                exponentNegative = sign == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            let exponentDigits = bytes.prefix { isDigit($0) }
            guard !exponentDigits.isEmpty, exponentDigits.count <= 7,
                  let magnitude = Int(String(decoding: exponentDigits, as: UTF8.self)), magnitude <= maxExponent else { return nil }
            bytes = bytes.dropFirst(exponentDigits.count)
            exponent = exponentNegative ? -magnitude : magnitude
        }
        guard bytes.isEmpty else { return nil }

        var digits = Array(integerDigits) + Array(fractionDigits)
        var scale = fractionDigits.count - exponent
        if scale < 0 {
            digits.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -scale))
            scale = 0
        }
        if digits.count <= scale {
            digits.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: scale - digits.count + 1), at: 0)
        }
        let integerCount = digits.count - scale
        let leadingZeros = digits.prefix(integerCount - 1).prefix { $0 == UInt8(ascii: "0") }.count
        var out: [UInt8] = []
        out.reserveCapacity(digits.count + 2)
        if negative, digits.contains(where: { $0 != UInt8(ascii: "0") }) { out.append(UInt8(ascii: "-")) }
        out.append(contentsOf: digits[leadingZeros..<integerCount])
        if scale > 0 {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[integerCount...])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether the UTF-8 text `bytes` is already canonical (`-?digits(.digits)?`, no superfluous
    /// leading zero, not a negative zero): the common case, taken as it is.
    static func isCanonical(_ bytes: Span<UInt8>) -> Bool {
        var index = 0
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let integerStart = index
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        let integerCount = index - integerStart
        guard integerCount > 0, integerCount == 1 || bytes[integerStart] != UInt8(ascii: "0") else { return false }
        if index < bytes.count {
            guard bytes[index] == UInt8(ascii: ".") else { return false }
            index += 1
            let fractionStart = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            guard index == bytes.count, index > fractionStart else { return false }
        }
        guard negative else { return true }
        for position in 1 ..< bytes.count where bytes[position] >= UInt8(ascii: "1") && bytes[position] <= UInt8(ascii: "9") { return true }
        return false
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
