import Testing
import SluiceWire

@Suite("JSON string text: the escapes, exactly")
struct JSONStringTextTests {
    private static func text(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        JSONStringText.append(utf8: bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("each control byte is escaped as \\n, \\r, \\t or \\u00 and two lowercase hex digits")
    func controlBytes() {
        let short: [UInt8: String] = [0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"]
        let digits = Array("0123456789abcdef")
        for byte in UInt8(0) ..< 0x20 {
            let escape = short[byte] ?? "\\u00" + String(digits[Int(byte / 16)]) + String(digits[Int(byte % 16)])
            #expect(Self.text([UInt8(ascii: "a"), byte, UInt8(ascii: "b")]) == "\"a" + escape + "b\"", "byte \(byte)")
        }
    }

    @Test("quotes and backslashes are escaped; every other byte, UTF-8 and DEL included, is kept")
    func otherBytes() {
        #expect(Self.text(Array(#"say "hi" \ bye"#.utf8)) == #""say \"hi\" \\ bye""#)
        let kept = (UInt8(0x20) ... 0xFF).filter { $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        var out: [UInt8] = []
        JSONStringText.append(utf8: kept, to: &out)
        #expect(out == [UInt8(ascii: "\"")] + kept + [UInt8(ascii: "\"")])
        var fromString: [UInt8] = []
        JSONStringText.append("é ✓ \u{7F}", to: &fromString)
        #expect(fromString == Array("\"é ✓ \u{7F}\"".utf8))
        #expect(Self.text([]) == "\"\"")
    }
}
