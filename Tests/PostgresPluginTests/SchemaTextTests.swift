import Foundation
import Testing
@testable import PostgresPlugin

/// The JSON text the configuration schema is written as (``JSONValue/prettyPrinted``).
@Suite("Configuration schema: its JSON text")
struct SchemaTextTests {
    @Test("keys in the order of their bytes, strings escaped, whole numbers as digits, the same text every time")
    func text() throws {
        let value: JSONValue = [
            "b": [.string("quote \" backslash \\ slash / newline \n tab \t return \r bell \u{7} é ✓ 🐘"), .integer(-42), .number(0.5)],
            "a_b": ["nested": [], "empty": [:]],
            "ab": .integer(10_000_000),
            "B": true,
            "é": .null,
            "a": false,
        ]
        let text = value.prettyPrinted
        #expect(text == value.prettyPrinted)
        let keys = try ["\"B\"", "\"a\"", "\"a_b\"", "\"ab\"", "\"b\"", "\"é\""].map { try #require(text.range(of: $0 + ": ")?.lowerBound) }
        #expect(keys == keys.sorted(), "keys by bytes: B < a < a_b < ab < b < é")
        #expect(text.contains(#""quote \" backslash \\ slash / newline \n tab \t return \r bell \u0007 é ✓ 🐘""#))
        #expect(text.contains("10000000") && text.contains("-42") && text.contains("0.5"))
        #expect(text.hasPrefix("{\n  \"B\": true,\n"))

        // The text reads back as the value.
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let list = try #require(parsed["b"] as? [Any])
        #expect(list.first as? String == "quote \" backslash \\ slash / newline \n tab \t return \r bell \u{7} é ✓ 🐘")
        #expect((list[1] as? NSNumber)?.intValue == -42)
        #expect((list[2] as? NSNumber)?.doubleValue == 0.5)
        #expect((parsed["ab"] as? NSNumber)?.intValue == 10_000_000)
        #expect(parsed["é"] is NSNull)
        #expect((parsed["a_b"] as? [String: Any])?["empty"] as? [String: Any] != nil)
        #expect(try JSONValue.parse(text) == value)
    }

    @Test("compact text: no spaces, keys by bytes; a source's state data as such")
    func compact() throws {
        let value: JSONValue = ["b": [.integer(1), .null, "x/y"], "a": ["z": true, "Z": [:]], "c": []]
        #expect(value.compact == #"{"a":{"Z":{},"z":true},"b":[1,null,"x/y"],"c":[]}"#)
        #expect(try JSONValue.parse(value.compact) == value)
        let state = ReadState(mode: "incremental", keyColumns: ["id", "at"], key: ["a\"/b", nil])
        #expect(String(decoding: state.data, as: UTF8.self)
                == #"{"complete":false,"key":["a\"/b",null],"key_columns":["id","at"],"mode":"incremental","v":3}"#)
        #expect(ReadState(data: state.data) == state)
    }

    @Test("the configuration schema is valid JSON with every setting, the same text each time")
    func configurationSchema() throws {
        let text = ConfigSchema.json
        #expect(text == ConfigSchema.json)
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let properties = try #require(schema["properties"] as? [String: Any])
        #expect(properties.count == ConfigSchema.properties.count)
        #expect(schema["additionalProperties"] as? Bool == false)
    }
}
