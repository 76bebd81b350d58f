import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Each schema change between two syncs: safe ones applied with the data kept, unsafe ones
/// refused with a list, or (forced) the table recreated.
@Suite struct DestinationMigrationTests {
    static let id = Column(name: "id", type: LogicalType(.int64), nullable: false)

    /// Writes `first` with one row, then `second` with one row; returns the columns (name,
    /// type, NOT NULL) afterwards, metadata columns left out.
    func migrate(_ schema: String, _ connection: PostgresConnection, from first: [Column], _ firstRow: [Value],
                 to second: [Column], _ secondRow: [Value], _ settings: [String: Any] = [:]) async throws -> [[String?]] {
        let v1 = DestinationHarness.schema("evolving", [Self.id] + first, primaryKey: ["id"])
        let v2 = DestinationHarness.schema("evolving", [Self.id] + second, primaryKey: ["id"])
        _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [ConfiguredStream(schema: v1)],
                                               [.schema(v1), try DestinationHarness.batch(v1, [[.int64(1)] + firstRow])])
        let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, settings), streams: [ConfiguredStream(schema: v2)],
                                                         [.schema(v2), try DestinationHarness.batch(v2, [[.int64(2)] + secondRow])])
        #expect(outcome.stream("evolving")?.inserted == 1)
        return try await columns(schema, connection)
    }

    func columns(_ schema: String, _ connection: PostgresConnection) async throws -> [[String?]] {
        try await DestinationHarness.rows(connection,
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a WHERE a.attrelid = '\(schema).evolving'::regclass "
                + "AND a.attnum > 0 AND NOT a.attisdropped AND a.attname NOT LIKE '\\_sluice%' ORDER BY a.attnum")
    }

    func values(_ schema: String, _ connection: PostgresConnection, _ column: String) async throws -> [[String?]] {
        try await DestinationHarness.rows(connection, "SELECT id, \(SQL.quoteIdentifier(column))::text FROM \(schema).evolving ORDER BY id")
    }

    @Test func addsANewColumnAsNullable() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let types = try await migrate(schema, connection, from: [Column(name: "a", type: LogicalType(.string))], [.string("x")],
                                          to: [Column(name: "a", type: LogicalType(.string)), Column(name: "b", type: LogicalType(.bool), nullable: false)],
                                          [.string("y"), .bool(true)])
            #expect(types == [["id", "bigint", "t"], ["a", "text", "f"], ["b", "boolean", "f"]])
            #expect(try await values(schema, connection, "b") == [["1", nil], ["2", "true"]])
        }
    }

    @Test func widensIntegerToBigint() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let types = try await migrate(schema, connection, from: [Column(name: "n", type: LogicalType(.int32))], [.int32(7)],
                                          to: [Column(name: "n", type: LogicalType(.int64))], [.int64(5_000_000_000)])
            #expect(types == [["id", "bigint", "t"], ["n", "bigint", "f"]])
            #expect(try await values(schema, connection, "n") == [["1", "7"], ["2", "5000000000"]])
        }
    }

    @Test func widensVarcharToText() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let types = try await migrate(schema, connection, from: [Column(name: "c", type: LogicalType(.string, maxLength: 3))], [.string("abc")],
                                          to: [Column(name: "c", type: LogicalType(.string))], [.string("much longer than three")])
            #expect(types == [["id", "bigint", "t"], ["c", "text", "f"]])
            #expect(try await values(schema, connection, "c") == [["1", "abc"], ["2", "much longer than three"]])
        }
    }

    @Test func widensNumericKeepingEveryDigit() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let types = try await migrate(schema, connection, from: [Column(name: "m", type: LogicalType(.decimal, precision: 6, scale: 2))], [.decimal("1234.56")],
                                          to: [Column(name: "m", type: LogicalType(.decimal, precision: 12, scale: 4))], [.decimal("12345678.1234")])
            #expect(types == [["id", "bigint", "t"], ["m", "numeric(12,4)", "f"]])
            #expect(try await values(schema, connection, "m") == [["1", "1234.5600"], ["2", "12345678.1234"]])
        }
    }

    @Test func dropsNotNullOfColumnsNoLongerSentOrNowNullable() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let types = try await migrate(schema, connection,
                                          from: [Column(name: "req", type: LogicalType(.int32), nullable: false), Column(name: "gone", type: LogicalType(.int32), nullable: false)],
                                          [.int32(1), .int32(2)],
                                          to: [Column(name: "req", type: LogicalType(.int32))], [.null])
            #expect(types == [["id", "bigint", "t"], ["req", "integer", "f"], ["gone", "integer", "f"]])
            #expect(try await values(schema, connection, "gone") == [["1", "2"], ["2", nil]])
        }
    }

    @Test func refusesUnsafeChangesListingEachBeforeAnyData() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let v1 = DestinationHarness.schema("evolving", [Self.id, Column(name: "a", type: LogicalType(.string)), Column(name: "b", type: LogicalType(.int64)),
                                                            Column(name: "c", type: LogicalType(.timestamptz))], primaryKey: ["id"])
            _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [ConfiguredStream(schema: v1)],
                                                   [.schema(v1), try DestinationHarness.batch(v1, [[.int64(1), .string("x"), .int64(2), .timestamptz(0)]])])
            let before = try await columns(schema, connection)
            let v2 = DestinationHarness.schema("evolving", [Self.id, Column(name: "a", type: LogicalType(.int32)), Column(name: "b", type: LogicalType(.uuid)),
                                                            Column(name: "c", type: LogicalType(.date))], primaryKey: ["id"])
            do {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [ConfiguredStream(schema: v2)],
                                                       [.schema(v2), try DestinationHarness.batch(v2, [[.int64(2), .int32(1), .null, .date(0)]])])
                Issue.record("an unsafe migration was applied")
            } catch HostError.plugin(let error) {
                #expect(error.category == .config)
                #expect(error.code == "MIGRATION_REFUSED")
                #expect(error.message.contains("migrate_mode to forced"))
                let lines = error.message.split(separator: "\n").filter { $0.hasPrefix("  - ") }
                #expect(lines == ["  - column \"a\": type text cannot hold integer",
                                  "  - column \"b\": type bigint cannot hold uuid",
                                  "  - column \"c\": type timestamp with time zone cannot hold date"].map { $0 + " without a possible loss" })
            }
            #expect(try await columns(schema, connection) == before)
            #expect(try await DestinationHarness.rows(connection, "SELECT id FROM \(schema).evolving") == [["1"]])
        }
    }

    @Test func forcedMigrationRecreatesTheTable() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let types = try await migrate(schema, connection, from: [Column(name: "a", type: LogicalType(.string))], [.string("x")],
                                          to: [Column(name: "a", type: LogicalType(.uuid))], [.uuid(Array(repeating: 7, count: 16))],
                                          ["migrate_mode": "forced"])
            #expect(types == [["id", "bigint", "t"], ["a", "uuid", "f"]])
            #expect(try await values(schema, connection, "a") == [["2", "07070707-0707-0707-0707-070707070707"]])
        }
    }
}
