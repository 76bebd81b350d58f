@testable import PostgresPlugin
@testable import SluiceWire

/// PostgreSQL's numeric through both of the plugin's codecs: any canonical decimal text the
/// destination accepts (NumericBinary) is written as a binary numeric that the source's
/// decoder (NumericText) reads back as the same number, in PostgreSQL's rendering (no leading
/// zeros, no negative zero, the scale kept); text outside PostgreSQL's range is refused.
enum FuzzPGNumeric {
    static func run(_ input: [UInt8]) {
        guard DecimalText.isValid(input) else { return }
        var binary = BinaryBuffer()
        do {
            try NumericBinary.append(input[...], to: &binary)
        } catch {
            precondition(!withinRange(input), "text within PostgreSQL's range was refused: \(error)")
            return
        }
        precondition(withinRange(input), "text outside PostgreSQL's range was accepted")
        var text: [UInt8] = []
        do {
            try NumericText.append(binary.bytes, 0, binary.bytes.count, to: &text)
        } catch {
            preconditionFailure("the binary numeric does not decode: \(error)")
        }
        let expected = rendering(input)
        precondition(text == expected, "\(String(decoding: input, as: UTF8.self)) came back as \(String(decoding: text, as: UTF8.self))")
    }

    /// At most 131072 digits before the point (weight ≤ 32767) and 16383 after it.
    private static func withinRange(_ text: [UInt8]) -> Bool {
        guard text.first != UInt8(ascii: "N"), text.last != UInt8(ascii: "y") else { return true }
        let (integer, fraction) = parts(text)
        return integer.count <= 131_072 && (fraction?.count ?? 0) <= 16_383
    }

    private static func parts(_ text: [UInt8]) -> (integer: ArraySlice<UInt8>, fraction: ArraySlice<UInt8>?) {
        let unsigned = text.first == UInt8(ascii: "-") ? text.dropFirst() : text[...]
        let dot = unsigned.firstIndex(of: UInt8(ascii: "."))
        let integer = unsigned[..<(dot ?? unsigned.endIndex)].drop { $0 == UInt8(ascii: "0") }
        return (integer, dot.map { unsigned[($0 + 1)...] })
    }

    /// How PostgreSQL prints the value of canonical decimal text `text`.
    private static func rendering(_ text: [UInt8]) -> [UInt8] {
        guard text.first != UInt8(ascii: "N"), text.last != UInt8(ascii: "y") else { return text }
        let (integer, fraction) = parts(text)
        let zero = integer.isEmpty && (fraction ?? []).allSatisfy { $0 == UInt8(ascii: "0") }
        var out: [UInt8] = text.first == UInt8(ascii: "-") && !zero ? [UInt8(ascii: "-")] : []
        out += integer.isEmpty ? [UInt8(ascii: "0")] : Array(integer)
        if let fraction { out += [UInt8(ascii: ".")] + fraction }
        return out
    }
}
