import Testing
import SluiceTestSupport
@testable import PluginHostKit

/// The scanner's strings (read eight bytes at a time until one needs a look) against
/// ``JSONParser``: a string of every length up to 40 with a quote, a backslash escape, a
/// control byte or non-ASCII text at every position is accepted exactly when the parser accepts
/// it, and its token ends where the string does.
@Suite("plugin-host JSON Lines scanner: strings")
struct JSONLineScannerTests {
    @Test("a special byte at every position of strings up to 40 bytes")
    func specialAtEveryPosition() {
        let specials: [[UInt8]] = ["\\\"", "\\\\", "\\n", "\\u00e9", "\\ud83d\\ude00", "é", "😀", "\u{7F}", "\u{1F}", "\"", "\\", "\\x"].map { Array($0.utf8) }
            + [[0x00], [0xFF], [0xC3], [0x80]]
        var accepted = 0, refused = 0
        for length in 0 ... 40 {
            for position in 0 ... length {
                for special in specials {
                    var text = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    text.insert(contentsOf: special, at: position)
                    let line = Array(#"{"k":""#.utf8) + text + Array(#""}"#.utf8)
                    var scanner = JSONLineScanner()
                    let scanned = scanner.scan(line, 0 ..< line.count)
                    let parsed = (try? JSONParser.parse(line)) != nil
                    #expect(scanned == parsed, "\(String(decoding: text, as: UTF8.self).debugDescription) (\(text.count) bytes)")
                    if scanned {
                        accepted += 1
                        #expect(scanner.members.count == 1 && scanner.members[0].value.range == 5 ..< line.count - 1)
                        #expect(scanner.members[0].value.escaped == special.contains(UInt8(ascii: "\\")))
                    } else {
                        refused += 1
                    }
                }
            }
        }
        #expect(accepted > 5_000 && refused > 2_000)
    }
}

/// The fast exact reading of JSON numbers as floats against Swift's own `Double(String)` and
/// `Float(String)`: equal bits whenever it answers, and it answers for short numbers.
@Suite("plugin-host JSON Lines: floats read without strings")
struct FloatTextTests {
    private static func check<F: BinaryFloatingPoint & LosslessStringConvertible>(_ text: String, _ type: F.Type) -> Bool {
        let bytes = Array(text.utf8)
        guard let fast = FloatText.exact(bytes.span, as: F.self) else { return false }
        let reference = F(text)
        #expect(reference != nil && fast == reference! && fast.sign == reference!.sign && fast.significandBitPattern == reference!.significandBitPattern && fast.exponentBitPattern == reference!.exponentBitPattern, "\(text) as \(F.self)")
        return true
    }

    @Test("edge cases: zeros, signs, exponents, the ends of the exact range")
    func edges() {
        for text in ["0", "-0", "0.0", "-0.0", "1", "-1", "1.5", "3.0", "0.1", "0.3", "123456.789", "1e22", "1E22", "1e+22", "1e-22", "9007199254740992",
                     "4.35", "2.675", "1.7976931348623157", "16777216", "0.000001", "5e-324", "1e23", "9007199254740993", "12345678901234567890",
                     "1.00000000000000000001", "1e400", "-1e-400", "0.1e1", "100e-2"] {
            _ = Self.check(text, Double.self)
            _ = Self.check(text, Float.self)
        }
        #expect(Self.check("1.5", Double.self) && Self.check("-0.0", Double.self) && Self.check("1e22", Double.self))
        #expect(!Self.check("1e23", Double.self) && !Self.check("9007199254740993", Double.self) && !Self.check("16777217", Float.self))
    }

    @Test("random numbers of up to 20 digits with exponents")
    func random() {
        var random = SplitMix64(state: 0xF10A7)
        var answered = 0
        for _ in 0 ..< 200_000 {
            var text = Bool.random(using: &random) ? "-" : ""
            let integer = Int.random(in: 1 ... 10, using: &random), fraction = Int.random(in: 0 ... 10, using: &random)
            text += String((0 ..< integer).map { index in Character(String(index == 0 && integer > 1 ? Int.random(in: 1 ... 9, using: &random) : Int.random(in: 0 ... 9, using: &random))) })
            if fraction > 0 { text += "." + String((0 ..< fraction).map { _ in Character(String(Int.random(in: 0 ... 9, using: &random))) }) }
            if Int.random(in: 0 ..< 3, using: &random) == 0 { text += ["e", "E", "e-", "e+"].randomElement(using: &random)! + String(Int.random(in: 0 ... 30, using: &random)) }
            if Self.check(text, Double.self) { answered += 1 }
            if Self.check(text, Float.self) { answered += 1 }
        }
        #expect(answered > 100_000)
    }
}
