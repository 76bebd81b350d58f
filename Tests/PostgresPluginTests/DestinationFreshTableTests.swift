import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Upsert into a table the Write created: rows go straight in by COPY until a key repeats,
/// then by upsert, with the same result and counts as upserting throughout.
@Suite("postgres-plugin destination: fresh tables")
struct DestinationFreshTableTests {
    static let items = DestinationHarness.items

    static func stream() -> ConfiguredStream { ConfiguredStream(schema: items) }

    static func batch(_ ids: ClosedRange<Int64>, _ prefix: String) throws -> HostMessage {
        try DestinationHarness.batch(items, ids.map { [.int64($0), .string("\(prefix)\($0)")] })
    }

    @Test("upsert into a table it creates: flushes COPY straight in; a repeated key is upserted, and so is everything after it")
    func freshUpsert() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["batch_size": 1000])
            let outcome = try await DestinationHarness.write(config, streams: [Self.stream()], [
                .schema(Self.items),
                try Self.batch(1...1000, "a"), try Self.batch(1001...2000, "a"), try Self.batch(2001...3000, "a"),
                // Keys 500–1500 were written by the flushes above: this flush falls back to upsert.
                try DestinationHarness.batch(Self.items, (500...1500).map { [.int64($0), .string("u\($0)")] }
                                                + (3001...3100).map { [.int64($0), .string("a\($0)")] }),
                try Self.batch(3101...3200, "a"),
            ])
            #expect(outcome.stream("items")?.inserted == 3200)
            #expect(outcome.stream("items")?.updated == 1001)
            let table = "\(SQL.quoteIdentifier(schema)).items"
            let check = try await DestinationHarness.rows(connection, """
                SELECT count(*), count(*) FILTER (WHERE name = 'u' || id), count(*) FILTER (WHERE name = 'a' || id),
                       count(*) FILTER (WHERE _sluice_synced_at IS NOT NULL) FROM \(table)
                """)
            #expect(check == [["3200", "1001", "2199", "3200"]])
            // The first three flushes ran in one transaction, each COPY under its own savepoint
            // (so its own subtransaction id); staged upserts would all carry the transaction's.
            let xids = try await DestinationHarness.rows(connection, "SELECT count(DISTINCT xmin::text) FROM \(table) WHERE id < 500")
            #expect(xids == [["1"]])
            let flushes = try await DestinationHarness.rows(connection, "SELECT count(DISTINCT xmin::text) FROM \(table) WHERE id IN (1, 1501, 2001)")
            #expect(flushes == [["3"]])

            // The table exists now: a second Write upserts as usual.
            let again = try await DestinationHarness.write(config, streams: [Self.stream()], [.schema(Self.items), try Self.batch(3150...3250, "b")])
            #expect(again.stream("items")?.inserted == 50)
            #expect(again.stream("items")?.updated == 51)
        }
    }
}
