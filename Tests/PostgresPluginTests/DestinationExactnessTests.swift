import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Values at PostgreSQL's limits arrive exactly, through COPY and INSERT, or the Write fails
/// naming stream, column and row; nothing crashes the plugin.
@Suite struct DestinationExactnessTests {
    static let hugeNumeric = String(repeating: "9", count: NumericLimits.integerDigits)
    static let tinyNumeric = "0." + String(repeating: "0", count: NumericLimits.scale - 1) + "1"
    static let longFraction = "-" + String(repeating: "1", count: 1000) + "." + String(repeating: "7", count: NumericLimits.scale)
    static let hugeString = String(repeating: "sluice ✓ ", count: 2_000_000)

    /// (column, value, PostgreSQL's text rendering)
    static let cases: [(Column, Value, String)] = [
        (Column(name: "huge", type: LogicalType(.decimal)), .decimal(hugeNumeric), hugeNumeric),
        (Column(name: "negative_huge", type: LogicalType(.decimal)), .decimal("-" + hugeNumeric + ".5"), "-" + hugeNumeric + ".5"),
        (Column(name: "tiny", type: LogicalType(.decimal)), .decimal(tinyNumeric), tinyNumeric),
        (Column(name: "long_fraction", type: LogicalType(.decimal)), .decimal(longFraction), longFraction),
        (Column(name: "nan", type: LogicalType(.decimal)), .decimal("NaN"), "NaN"),
        (Column(name: "inf", type: LogicalType(.decimal)), .decimal("Infinity"), "Infinity"),
        (Column(name: "minus_inf", type: LogicalType(.decimal)), .decimal("-Infinity"), "-Infinity"),
        (Column(name: "decimals", type: .list(of: .decimal)), .list([.decimal(tinyNumeric), .decimal("NaN"), .decimal("-Infinity")]),
         "{\(tinyNumeric),NaN,-Infinity}"),
        (Column(name: "i64_min", type: LogicalType(.int64)), .int64(.min), "-9223372036854775808"),
        (Column(name: "i64_max", type: LogicalType(.int64)), .int64(.max), "9223372036854775807"),
        (Column(name: "i32_min", type: LogicalType(.int32)), .int32(.min), "-2147483648"),
        (Column(name: "i16_max", type: LogicalType(.int16)), .int16(.max), "32767"),
        (Column(name: "f64_max", type: LogicalType(.float64)), .float64(.greatestFiniteMagnitude), "1.7976931348623157e+308"),
        (Column(name: "f64_min", type: LogicalType(.float64)), .float64(.leastNonzeroMagnitude), "5e-324"),
        (Column(name: "f64_neg_zero", type: LogicalType(.float64)), .float64(-0.0), "-0"),
        (Column(name: "f64_inf", type: LogicalType(.float64)), .float64(.infinity), "Infinity"),
        (Column(name: "f32_max", type: LogicalType(.float32)), .float32(.greatestFiniteMagnitude), "3.4028235e+38"),
        (Column(name: "f32_min", type: LogicalType(.float32)), .float32(-.leastNonzeroMagnitude), "-1e-45"),
        (Column(name: "f32_nan", type: LogicalType(.float32)), .float32(.nan), "NaN"),
        (Column(name: "ts_last", type: LogicalType(.timestamp)), .timestamp(.max - 1), "294247-01-10 04:00:54.775806"),
        (Column(name: "ts_first", type: LogicalType(.timestamptz)), .timestamptz(-210_866_803_200_000_000), "4714-11-24 00:00:00+00 BC"),
        (Column(name: "huge_string", type: LogicalType(.string)), .string(hugeString), hugeString),
    ]

    static var schema: StreamSchema {
        DestinationHarness.schema("extremes", [Column(name: "id", type: LogicalType(.int32), nullable: false)] + cases.map(\.0), primaryKey: ["id"])
    }

    @Test(arguments: ["copy", "insert"])
    func extremesArriveExactly(method: String) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["insert_method": method]),
                                                             streams: [ConfiguredStream(schema: Self.schema)],
                                                             [.schema(Self.schema), try DestinationHarness.batch(Self.schema, [[.int32(1)] + Self.cases.map(\.1)])])
            #expect(outcome.stream("extremes")?.inserted == 1)
            let columns = Self.cases.map { "\(SQL.quoteIdentifier($0.0.name))::text" }.joined(separator: ", ")
            let row = try await DestinationHarness.rows(connection, "SELECT \(columns) FROM \(schema).extremes").first ?? []
            for (index, testCase) in Self.cases.enumerated() {
                #expect(row[index] == testCase.2, "column \(testCase.0.name)")
            }
        }
    }

    /// Values beyond PostgreSQL's range: (column, value, what the error says).
    static let beyond: [(Column, Value, String)] = [
        (Column(name: "wide", type: LogicalType(.decimal)), .decimal("1" + hugeNumeric), "131073 digits before the decimal point"),
        (Column(name: "deep", type: LogicalType(.decimal)), .decimal("1." + String(repeating: "0", count: NumericLimits.scale + 1)),
         "16384 digits after the decimal point"),
        (Column(name: "deep_list", type: .list(of: .decimal)), .list([.decimal("1"), .decimal("0." + String(repeating: "1", count: NumericLimits.scale + 1))]),
         "16384 digits after the decimal point"),
        (Column(name: "ts", type: LogicalType(.timestamptz)), .timestamptz(.min + 1), "beyond PostgreSQL's range"),
        (Column(name: "d", type: LogicalType(.date)), .date(.min + 1), "beyond PostgreSQL's range"),
        (Column(name: "ttz", type: LogicalType(.timetz)), .timetz(micros: 0, offsetSeconds: .min), "beyond PostgreSQL's range"),
    ]

    @Test(arguments: ["copy", "insert"])
    func valuesBeyondPostgreSQLFailNamingStreamColumnAndRow(method: String) async throws {
        for (column, value, reason) in Self.beyond {
            try await DestinationHarness.withSchema { schema, connection in
                let stream = DestinationHarness.schema("beyond", [Column(name: "id", type: LogicalType(.int32)), column])
                do {
                    _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["insert_method": method]),
                                                           streams: [ConfiguredStream(schema: stream)],
                                                           [.schema(stream), try DestinationHarness.batch(stream, [[.int32(1), .null], [.int32(2), value]])])
                    Issue.record("\(column.name): a value beyond PostgreSQL's range was accepted")
                } catch HostError.plugin(let error) {
                    #expect(error.category == .data, "\(column.name)")
                    #expect(error.message.contains("stream beyond, column \"\(column.name)\", row 2"), "\(column.name): \(error.message)")
                    #expect(error.message.contains(reason), "\(column.name): \(error.message)")
                }
                #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).beyond") == [["0"]])
            }
        }
    }

    @Test(arguments: ["copy", "insert"])
    func jsonKeepsItsTextAndJsonbStaysJsonb(method: String) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let document = #"{"b": 1,  "a" : [1.0E+2, -0, 1e400], "b":"\u0000 dup",  "z":{}}"#
            let stream = DestinationHarness.schema("docs", [
                Column(name: "id", type: LogicalType(.int32), nullable: false),
                Column(name: "j", type: LogicalType(.json), sourceType: "json"),
                Column(name: "jl", type: .list(of: .json), sourceType: "json[]"),
                Column(name: "jb", type: LogicalType(.json), sourceType: "jsonb"),
            ], primaryKey: ["id"])
            for mode in ["append", "upsert"] {
                let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["insert_method": method, "write_mode": mode]),
                                                                 streams: [ConfiguredStream(schema: stream)],
                                                                 [.schema(stream), try DestinationHarness.batch(stream, [
                                                                     [.int32(mode == "append" ? 1 : 2), .json(document), .list([.json(document), .json(" [ ] ")]), .json(#"{"b":1,"a":2}"#)],
                                                                 ])])
                #expect(outcome.stream("docs")?.inserted == 1)
            }
            let rows = try await DestinationHarness.rows(connection, "SELECT j::text, jl[1]::text, jl[2]::text, jb::text FROM \(schema).docs ORDER BY id")
            #expect(rows == Array(repeating: [document, document, " [ ] ", #"{"a": 2, "b": 1}"#], count: 2))
            let types = try await DestinationHarness.rows(connection,
                "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = '\(schema).docs'::regclass AND a.attname IN ('j', 'jl', 'jb') ORDER BY a.attnum")
            #expect(types == [["json"], ["json[]"], ["jsonb"]])
        }
    }

    @Test(arguments: ["copy", "insert"])
    func declaredNumericTypesAreCreatedAsDeclared(method: String) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let stream = DestinationHarness.schema("declared", [
                Column(name: "hundreds", type: LogicalType(.decimal, precision: 5), sourceType: "numeric(5,-2)"),
                Column(name: "small", type: LogicalType(.decimal, precision: 3), sourceType: "numeric(3,5)"),
                Column(name: "money", type: LogicalType(.decimal, precision: 12, scale: 2), sourceType: "numeric(12,2)"),
                Column(name: "list", type: .list(of: .decimal), sourceType: "numeric(5,-2)[]"),
            ])
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["insert_method": method]),
                                                             streams: [ConfiguredStream(schema: stream)],
                                                             [.schema(stream), try DestinationHarness.batch(stream, [
                                                                 [.decimal("9999900"), .decimal("0.00123"), .decimal("-0.05"), .list([.decimal("12300"), .null])],
                                                             ])])
            #expect(outcome.stream("declared")?.inserted == 1)
            let rows = try await DestinationHarness.rows(connection, "SELECT hundreds::text, small::text, money::text, list::text FROM \(schema).declared")
            #expect(rows == [["9999900", "0.00123", "-0.05", "{12300,NULL}"]])
            let types = try await DestinationHarness.rows(connection,
                "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = '\(schema).declared'::regclass AND a.attnum > 0 AND a.attname NOT LIKE '\\_sluice%' ORDER BY a.attnum")
            #expect(types == [["numeric(5,-2)"], ["numeric(3,5)"], ["numeric(12,2)"], ["numeric(5,-2)[]"]])
        }
    }
}

/// PostgreSQL's numeric limits, as the tests state them.
enum NumericLimits {
    static let integerDigits = 131_072
    static let scale = 16_383
}

/// Names that differ only in Unicode normalization are different names in PostgreSQL.
@Suite struct DestinationNormalizationTests {
    static let composed = "caf\u{E9}"
    static let decomposed = "cafe\u{301}"

    @Test(arguments: ["append", "upsert"])
    func tablesAndColumnsDifferingOnlyInNormalizationStayApart(mode: String) async throws {
        #expect(Self.composed == Self.decomposed, "Swift calls them equal; PostgreSQL does not")
        try await DestinationHarness.withSchema { schema, connection in
            let streams = [Self.composed, Self.decomposed].map { name in
                DestinationHarness.schema(name, [
                    Column(name: "\u{E9}", type: LogicalType(.int64), nullable: false),
                    Column(name: "e\u{301}", type: LogicalType(.string)),
                ], primaryKey: ["\u{E9}"])
            }
            var messages: [HostMessage] = []
            for (index, stream) in streams.enumerated() {
                messages += [.schema(stream), try DestinationHarness.batch(stream, [[.int64(Int64(index)), .string("from \(index == 0 ? "NFC" : "NFD")")]])]
            }
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["write_mode": mode]),
                                                             streams: streams.map { ConfiguredStream(schema: $0) }, messages)
            #expect(outcome.summary.streams.count == 2)
            #expect(outcome.summary.streams.allSatisfy { $0.inserted == 1 })
            for (index, name) in [Self.composed, Self.decomposed].enumerated() {
                let rows = try await DestinationHarness.rows(connection,
                    "SELECT \(SQL.quoteIdentifier("\u{E9}"))::text, \(SQL.quoteIdentifier("e\u{301}")) FROM \(SQL.quoteQualified(schema: schema, name: name))")
                #expect(rows == [[String(index), "from \(index == 0 ? "NFC" : "NFD")"]], "table \(index == 0 ? "NFC" : "NFD")")
            }
        }
    }
}

extension DestinationNormalizationTests {
    @Test func keyColumnsApplyToTheStreamSpelledExactlyLikeTheirKey() async throws {
        try await DestinationHarness.withSchema { schema, _ in
            let streams = [Self.composed, Self.decomposed].map { name in
                DestinationHarness.schema(name, [Column(name: "id", type: LogicalType(.int64)), Column(name: "v", type: LogicalType(.string))])
            }
            let config = DestinationHarness.config(schema: schema, ["write_mode": "upsert", "key_columns": [Self.composed: ["id"]]])
            let outcome = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: streams[0])],
                                                             [.schema(streams[0]), try DestinationHarness.batch(streams[0], [[.int64(1), .string("a")]])])
            #expect(outcome.summary.streams.first?.inserted == 1)
            do {
                _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: streams[1])], [.schema(streams[1])])
                Issue.record("the NFC stream's key_columns were used for the NFD stream")
            } catch HostError.plugin(let error) {
                #expect(error.code == "MISSING_KEY")
            }
        }
    }
}

/// A value the server rejects during COPY is named by stream, column and row.
@Suite struct DestinationRejectedValueTests {
    @Test func aRejectedValueIsNamedByColumnAndRow() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let stream = DestinationHarness.schema("codes", [
                Column(name: "id", type: LogicalType(.int64), nullable: false),
                Column(name: "Côde", type: LogicalType(.string, maxLength: 5)),
            ])
            let config = DestinationHarness.config(schema: schema, ["insert_method": "copy", "batch_size": 2, "transaction_scope": "flush"])
            do {
                _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: stream)], [
                    .schema(stream),
                    try DestinationHarness.batch(stream, [[.int64(1), .string("a")], [.int64(2), .string("b")]]),
                    try DestinationHarness.batch(stream, [[.int64(3), .string("c")], [.int64(4), .string("toolong")]]),
                ])
                Issue.record("a value too long for character varying(5) was accepted")
            } catch HostError.plugin(let error) {
                #expect(error.code == "VALUE_REJECTED")
                #expect(error.message.contains("stream codes, column \"Côde\", row 4: PostgreSQL rejected the value"), "\(error.message)")
            }
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).codes") == [["2"]])
        }
    }

    /// Flushes between two states go through one COPY left open across them: the server
    /// refuses a row only when that COPY ends, and the row is still named by its place in the
    /// stream (the COPY's line counted from the COPY's first row, after the state's).
    @Test func aValueRejectedInACopyLeftOpenIsNamedByColumnAndRow() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let stream = DestinationHarness.schema("codes", [
                Column(name: "id", type: LogicalType(.int64), nullable: false),
                Column(name: "Côde", type: LogicalType(.string, maxLength: 5)),
            ])
            let config = DestinationHarness.config(schema: schema, ["insert_method": "copy", "batch_size": 2])
            func batch(_ ids: ClosedRange<Int64>, long: Int64? = nil) throws -> HostMessage {
                try DestinationHarness.batch(stream, ids.map { [.int64($0), .string($0 == long ? "toolong" : "c\($0)")] })
            }
            do {
                _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: stream)], [
                    .schema(stream), try batch(1...2), .state(State(id: 1, stream: nil, data: [])),
                    try batch(3...4), try batch(5...6), try batch(7...8, long: 8), try batch(9...10), .state(State(id: 2, stream: nil, data: [])),
                ])
                Issue.record("a value too long for character varying(5) was accepted")
            } catch HostError.plugin(let error) {
                #expect(error.code == "VALUE_REJECTED")
                #expect(error.message.contains("stream codes, column \"Côde\", row 8: PostgreSQL rejected the value"), "\(error.message)")
            }
            // The first state's rows were committed; none after it.
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), max(id) FROM \(schema).codes") == [["2", "2"]])
        }
    }
}
