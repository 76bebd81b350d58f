import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Table creation, migration and identifiers.
@Suite struct DestinationTableTests {
    @Test func safeMigrationAddsWidensAndRefusesWithAList() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema)
            let v1 = DestinationHarness.schema("evolving", [
                Column(name: "id", type: LogicalType(.int32), nullable: false),
                Column(name: "code", type: LogicalType(.string, maxLength: 3), nullable: false),
                Column(name: "amount", type: LogicalType(.decimal, precision: 6, scale: 2)),
                Column(name: "gone", type: LogicalType(.int32), nullable: false),
            ], primaryKey: ["id"])
            _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: v1)],
                                                   [.schema(v1), try DestinationHarness.batch(v1, [[.int32(1), .string("abc"), .decimal("1234.56"), .int32(0)]])])
            let v2 = DestinationHarness.schema("evolving", [
                Column(name: "id", type: LogicalType(.int64), nullable: false),
                Column(name: "code", type: LogicalType(.string)),
                Column(name: "amount", type: LogicalType(.decimal, precision: 12, scale: 4)),
                Column(name: "added", type: LogicalType(.bool), nullable: false),
            ], primaryKey: ["id"])
            let outcome = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: v2)],
                                                             [.schema(v2), try DestinationHarness.batch(v2, [[.int64(5_000_000_000), .string("longer"), .decimal("12345678.1234"), .bool(true)]])])
            #expect(outcome.stream("evolving")?.inserted == 1)
            let types = try await DestinationHarness.rows(connection,
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a WHERE a.attrelid = '\(schema).evolving'::regclass AND a.attnum > 0 AND a.attname NOT LIKE '\\_sluice%' ORDER BY a.attnum")
            #expect(types == [["id", "bigint", "t"], ["code", "text", "f"], ["amount", "numeric(12,4)", "f"], ["gone", "integer", "f"], ["added", "boolean", "f"]])

            let v3 = DestinationHarness.schema("evolving", [
                Column(name: "id", type: LogicalType(.int64), nullable: false),
                Column(name: "code", type: LogicalType(.int32)),
                Column(name: "amount", type: LogicalType(.uuid)),
            ], primaryKey: ["id"])
            do {
                _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: v3)], [.schema(v3)])
                Issue.record("an unsafe migration was applied")
            } catch HostError.plugin(let error) {
                #expect(error.code == "MIGRATION_REFUSED")
                #expect(error.message.contains("column \"code\": type text cannot hold integer"))
                #expect(error.message.contains("column \"amount\": type numeric(12,4) cannot hold uuid"))
            }
            let forced = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["migrate_mode": "forced"]), streams: [ConfiguredStream(schema: v3)],
                                                            [.schema(v3), try DestinationHarness.batch(v3, [[.int64(1), .int32(7), .null]])])
            #expect(forced.stream("evolving")?.inserted == 1)
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).evolving") == [["1"]])
        }
    }

    @Test func nastyIdentifiersAndLongNames() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let long = String(repeating: "é", count: 40)
            let names = ["select", "Mixed Case", "quo\"te", "ünï cødé", long + "_a", long + "_b"]
            let stream = DestinationHarness.schema(long + " table \"x\"", names.map { Column(name: $0, type: LogicalType(.string)) }, primaryKey: ["select"])
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema + " Ünï \"q\"", ["write_mode": "upsert"]),
                                                             streams: [ConfiguredStream(schema: stream)],
                                                             [.schema(stream), try DestinationHarness.batch(stream, [names.map { .string("v " + $0) }])])
            #expect(outcome.stream(stream.stream.name)?.inserted == 1)
            let quotedSchema = SQL.quoteIdentifier(schema + " Ünï \"q\"")
            let columns = try await DestinationHarness.rows(connection,
                "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE n.nspname = '\(schema) Ünï \"q\"' AND c.relkind = 'r' AND a.attnum > 0 AND a.attname NOT LIKE '\\_sluice%' ORDER BY a.attnum")
            let stored = columns.compactMap { $0[0] }
            #expect(stored.count == 6)
            #expect(Set(stored).count == 6)
            #expect(stored.allSatisfy { $0.utf8.count <= 63 })
            #expect(Array(stored.prefix(4)) == Array(names.prefix(4)))
            _ = try await connection.execute("DROP SCHEMA \(quotedSchema) CASCADE")
        }
    }
}
