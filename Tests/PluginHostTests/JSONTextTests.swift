import Testing
@testable import PluginHostKit
import SluiceWire

/// The hand-written JSON text writers of the JSON Lines hot path: escapes and digits.
@Suite("plugin-host JSON text: strings escaped and digits written exactly")
struct JSONTextTests {
    @Test("every byte below 0x20, quotes and backslashes are escaped; runs between them and UTF-8 are kept")
    func escapes() throws {
        var out: [UInt8] = []
        JSONStringText.append("a\"b\\c\nd\re\tf\u{01}g\u{1F}h é ✓ /", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #""a\"b\\c\nd\re\tf\u0001g\u001fh é ✓ /""#)
        for byte in UInt8(0)..<0x80 {
            var text: [UInt8] = []
            JSONStringText.append(utf8: [UInt8(ascii: "x"), byte, UInt8(ascii: "y")], to: &text)
            let parsed = try JSONParser.parse(text)
            #expect(parsed == .string(String(decoding: [UInt8(ascii: "x"), byte, UInt8(ascii: "y")], as: UTF8.self)), "byte \(byte)")
        }
        out.removeAll()
        JSONStringText.append(utf8: [UInt8](), to: &out)
        #expect(out == Array(#""""#.utf8))
    }

    @Test("integers in decimal, padded to a width, at both ends of their range")
    func digits() {
        func text(_ body: (inout [UInt8]) -> Void) -> String {
            var out: [UInt8] = []
            body(&out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(text { ASCIIDigits.appendPadded(0, width: 1, to: &$0) } == "0")
        #expect(text { ASCIIDigits.appendPadded(7, width: 2, to: &$0) } == "07")
        #expect(text { ASCIIDigits.appendPadded(123, width: 2, to: &$0) } == "123")
        #expect(text { ASCIIDigits.appendPadded(42, width: 6, to: &$0) } == "000042")
        #expect(text { ASCIIDigits.appendPadded(5, width: 25, to: &$0) } == String(repeating: "0", count: 24) + "5")
        #expect(text { ASCIIDigits.appendPadded(.max, width: 1, to: &$0) } == "18446744073709551615")
        #expect(text { ASCIIDigits.append(Int64.min, to: &$0) } == "-9223372036854775808")
        #expect(text { ASCIIDigits.append(Int64.max, to: &$0) } == "9223372036854775807")
        #expect(text { ASCIIDigits.append(Int16(-1), to: &$0) } == "-1")
        for value in [UInt64(9), 10, 99, 100, 999_999, 1_000_000, 10_000_000_000_000_000_000] {
            #expect(text { ASCIIDigits.appendPadded(value, width: 1, to: &$0) } == String(value))
        }
    }
}
