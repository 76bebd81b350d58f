import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Every logical type round-trips exactly: what PostgreSQL renders equals what was sent.
@Suite struct DestinationTypeTests {
    static let thousandDigits = "9" + String(repeating: "0", count: 994) + ".12345"

    /// (column, value, PostgreSQL's text rendering in UTC, created type)
    static let cases: [(Column, Value, String, String)] = [
        (Column(name: "b", type: LogicalType(.bool)), .bool(true), "true", "boolean"),
        (Column(name: "i16", type: LogicalType(.int16)), .int16(-32768), "-32768", "smallint"),
        (Column(name: "i32", type: LogicalType(.int32)), .int32(.max), "2147483647", "integer"),
        (Column(name: "i64", type: LogicalType(.int64)), .int64(.min), "-9223372036854775808", "bigint"),
        (Column(name: "f32", type: LogicalType(.float32)), .float32(1.5), "1.5", "real"),
        (Column(name: "f64", type: LogicalType(.float64)), .float64(-.infinity), "-Infinity", "double precision"),
        (Column(name: "f64nan", type: LogicalType(.float64)), .float64(.nan), "NaN", "double precision"),
        (Column(name: "dec", type: LogicalType(.decimal)), .decimal(thousandDigits), thousandDigits, "numeric"),
        (Column(name: "dec_small", type: LogicalType(.decimal, precision: 12, scale: 2)), .decimal("-0.05"), "-0.05", "numeric(12,2)"),
        (Column(name: "dec_frac", type: LogicalType(.decimal)), .decimal("0.000100"), "0.000100", "numeric"),
        (Column(name: "dec_zero", type: LogicalType(.decimal)), .decimal("-0.00"), "0.00", "numeric"),
        (Column(name: "dec_nan", type: LogicalType(.decimal)), .decimal("NaN"), "NaN", "numeric"),
        (Column(name: "dec_inf", type: LogicalType(.decimal)), .decimal("-Infinity"), "-Infinity", "numeric"),
        (Column(name: "dec_big", type: LogicalType(.decimal)), .decimal("100000000.00000001"), "100000000.00000001", "numeric"),
        (Column(name: "str", type: LogicalType(.string)), .string("héllo 😀"), "héllo 😀", "text"),
        (Column(name: "str_nul", type: LogicalType(.string)), .string("a\u{0}b\u{0}"), "ab", "text"),
        (Column(name: "str_empty", type: LogicalType(.string)), .string(""), "", "text"),
        (Column(name: "vc", type: LogicalType(.string, maxLength: 5)), .string("abcde"), "abcde", "character varying(5)"),
        (Column(name: "bin", type: LogicalType(.bytes)), .bytes([0, 1, 255]), "\\x0001ff", "bytea"),
        (Column(name: "d", type: LogicalType(.date)), .date(-2_440_550), "4713-01-01 BC", "date"),
        (Column(name: "d_inf", type: LogicalType(.date)), .date(.max), "infinity", "date"),
        (Column(name: "t", type: LogicalType(.time)), .time(86_400_000_000), "24:00:00", "time without time zone"),
        (Column(name: "ttz", type: LogicalType(.timetz)), .timetz(micros: 3_600_000_001, offsetSeconds: 7200), "01:00:00.000001+02", "time with time zone"),
        (Column(name: "ts", type: LogicalType(.timestamp)), .timestamp(253_402_300_800_000_000), "10000-01-01 00:00:00", "timestamp without time zone"),
        (Column(name: "ts_bc", type: LogicalType(.timestamp)), .timestamp(-210_863_520_000_000_000), "4713-01-01 00:00:00 BC", "timestamp without time zone"),
        (Column(name: "ts_inf", type: LogicalType(.timestamp)), .timestamp(.min), "-infinity", "timestamp without time zone"),
        (Column(name: "tstz", type: LogicalType(.timestamptz)), .timestamptz(1_500_000_000_123_456), "2017-07-14 02:40:00.123456+00", "timestamp with time zone"),
        (Column(name: "tstz_inf", type: LogicalType(.timestamptz)), .timestamptz(.max), "infinity", "timestamp with time zone"),
        (Column(name: "iv", type: LogicalType(.interval)), .interval(months: 14, days: -3, micros: 4_000_005), "1 year 2 mons -3 days +00:00:04.000005", "interval"),
        (Column(name: "u", type: LogicalType(.uuid)), .uuid([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]),
         "00112233-4455-6677-8899-aabbccddeeff", "uuid"),
        (Column(name: "j", type: LogicalType(.json)), .json(#"{"b":1,"a":[1,"x"]}"#), #"{"a": [1, "x"], "b": 1}"#, "jsonb"),
        (Column(name: "l_int", type: .list(of: .int64)), .list([.int64(1), .null, .int64(3)]), "{1,NULL,3}", "bigint[]"),
        (Column(name: "l_empty", type: .list(of: .string)), .list([]), "{}", "text[]"),
        (Column(name: "l_str", type: .list(of: .string)), .list([.string("a b"), .string("c")]), #"{"a b",c}"#, "text[]"),
        (Column(name: "l_dec", type: .list(of: .decimal)), .list([.decimal("1.50"), .decimal("-2")]), "{1.50,-2}", "numeric[]"),
        (Column(name: "ip", type: LogicalType(.string), sourceType: "inet"), .string("10.0.0.1/8"), "10.0.0.1/8", "inet"),
    ]

    static var schema: StreamSchema {
        DestinationHarness.schema("types", [Column(name: "id", type: LogicalType(.int32), nullable: false)] + cases.map(\.0), primaryKey: ["id"])
    }

    @Test(arguments: ["copy", "insert"])
    func everyTypeRoundTripsWithNulls(method: String) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let values = [[Value.int32(1)] + Self.cases.map(\.1), [Value.int32(2)] + Self.cases.map { _ in Value.null }]
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["write_mode": "upsert", "insert_method": method]),
                                                             streams: [ConfiguredStream(schema: Self.schema)],
                                                             [.schema(Self.schema), try DestinationHarness.batch(Self.schema, values)])
            #expect(outcome.stream("types")?.inserted == 2)
            #expect(outcome.stream("types")?.nulBytesStripped == 2)
            let columns = Self.cases.map { "\(SQL.quoteIdentifier($0.0.name))::text" }.joined(separator: ", ")
            let rows = try await DestinationHarness.rows(connection, "SELECT \(columns) FROM \(schema).types ORDER BY id")
            #expect(rows.count == 2)
            for (index, testCase) in Self.cases.enumerated() {
                #expect(rows.first?[index] == testCase.2, "column \(testCase.0.name)")
                #expect(rows.last?[index] == nil, "column \(testCase.0.name) null")
            }
            let types = try await DestinationHarness.rows(connection,
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = '\(schema).types'::regclass AND a.attnum > 0")
            let byName = Dictionary(uniqueKeysWithValues: types.map { ($0[0] ?? "", $0[1] ?? "") })
            for testCase in Self.cases { #expect(byName[testCase.0.name] == testCase.3, "type of \(testCase.0.name)") }
        }
    }

    @Test func nulBytesFailWhenAsked() async throws {
        try await DestinationHarness.withSchema { schema, _ in
            let stream = DestinationHarness.schema("nul", [Column(name: "s", type: LogicalType(.string))])
            do {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["nul_bytes": "fail"]), streams: [ConfiguredStream(schema: stream)],
                                                       [.schema(stream), try DestinationHarness.batch(stream, [[.string("ok")], [.string("x\u{0}")]])])
                Issue.record("a NUL byte was accepted")
            } catch HostError.plugin(let error) {
                #expect(error.category == .data)
                #expect(error.message.contains("column \"s\", row 2"))
            }
        }
    }
}
