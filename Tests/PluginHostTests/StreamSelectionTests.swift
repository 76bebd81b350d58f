import Foundation
import SluiceWire
import Testing
@testable import PluginHostKit

@Suite("plugin-host stream globs and JSON error positions")
struct StreamSelectionTests {
    private func stream(_ namespace: String, _ name: String) -> StreamID { StreamID(namespace: namespace, name: name) }

    @Test("a glob with a dot matches namespace.name, one without the name alone; * spans dots, ? is one character")
    func globs() {
        #expect(StreamGlob("public.*").matches(stream("public", "orders")))
        #expect(!StreamGlob("public.*").matches(stream("billing", "orders")))
        #expect(StreamGlob("orders_*").matches(stream("billing", "orders_2024")))
        #expect(!StreamGlob("orders_*").matches(stream("orders_x", "items")))
        #expect(StreamGlob("*").matches(stream("a.b", "c")))
        #expect(StreamGlob("*.log_?").matches(stream("app", "log_1")))
        #expect(!StreamGlob("*.log_?").matches(stream("app", "log_12")))
        #expect(StreamGlob("a*b*c").matches(stream("", "aXbYbZc")))
        #expect(!StreamGlob("a*b*c").matches(stream("", "aXbYbZ")))
        // Names are compared by scalars: NFC é and NFD e + U+0301 are different streams.
        #expect(StreamGlob("caf\u{E9}").matches(stream("", "caf\u{E9}")))
        #expect(!StreamGlob("caf\u{E9}").matches(stream("", "cafe\u{301}")))
    }

    @Test("JSON parse errors name the line and the column in characters")
    func jsonPositions() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse("{\n  \"a\": 1,\n  \"é\": [1, 2,]\n}") }
        do {
            _ = try JSONParser.parse("{\n  \"a\": 1,\n  \"é\": [1, 2,]\n}")
        } catch {
            #expect(error.line == 3 && error.column == 14, "\(error)")
            #expect(error.description.hasSuffix("at line 3, column 14"))
        }
        do {
            _ = try JSONParser.parse("[01]")
        } catch {
            #expect(error.description == "invalid number (leading zero) at line 1, column 2")
        }
    }
}
