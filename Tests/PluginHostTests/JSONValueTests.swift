import Testing
@testable import PluginHostKit

@Suite("plugin-host JSONValue: numbers are compared and converted exactly")
struct JSONValueTests {
    @Test("numbers beyond 2^53 that one Double holds are still different")
    func exactComparison() throws {
        #expect(try JSONParser.parse("9007199254740993") != JSONParser.parse("9007199254740992"))
        #expect(try JSONParser.parse("0.10000000000000000001") != JSONParser.parse("0.1"))
    }

    @Test("the same number written differently is equal")
    func sameNumber() throws {
        for (a, b) in [("1", "1.0"), ("1.5", "15e-1"), ("100", "1E2"), ("0", "-0.0"), ("-2.50", "-2.5")] {
            #expect(try JSONParser.parse(a) == JSONParser.parse(b), "\(a) vs \(b)")
        }
    }

    @Test("an enum of numbers is checked exactly")
    func enumExact() throws {
        let validator = JSONSchemaValidator(schema: try JSONParser.parse(#"{"enum": [9007199254740992]}"#))
        #expect(validator.problems(of: try JSONParser.parse("9007199254740992")).isEmpty)
        #expect(!validator.problems(of: try JSONParser.parse("9007199254740993")).isEmpty)
    }

    @Test("integers written with an exponent or a zero fraction convert exactly, and out-of-range ones do not convert")
    func int64Exact() throws {
        #expect(try JSONParser.parse("9100000000000000001e0").int64Value == 9_100_000_000_000_000_001)
        #expect(try JSONParser.parse("1.0e3").int64Value == 1000)
        #expect(try JSONParser.parse("9223372036854775808").int64Value == nil)
        #expect(try JSONParser.parse("1.5").int64Value == nil)
    }
}
