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
