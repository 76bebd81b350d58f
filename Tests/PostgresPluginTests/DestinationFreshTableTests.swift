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

    /// The flushes after the one that meets a repeated key are started behind it (chained on the
    /// connection, to run right after its COPY): its COPY's failure leaves the transaction failed
    /// until its own fallback, so they send nothing then and must be written once it is done.
    @Test("flushes started behind a flush that falls back to upsert are written after it, once each")
    func chainedBehindFallback() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["batch_size": 1000])
            var messages: [HostMessage] = [.schema(Self.items), try Self.batch(1...1000, "a")]
            // A 50,000-row flush repeating key 1 in its last row: its COPY fails late, long
            // after the small flushes behind it were encoded and queued.
            messages.append(try DestinationHarness.batch(Self.items, (1001...50_999).map { [.int64($0), .string("a\($0)")] } + [[.int64(1), .string("u1")]]))
            for start in stride(from: Int64(51_000), to: 56_000, by: 1000) { messages.append(try Self.batch(start...(start + 999), "a")) }
            let outcome = try await DestinationHarness.write(config, streams: [Self.stream()], messages)
            #expect(outcome.stream("items")?.inserted == 55_999)
            #expect(outcome.stream("items")?.updated == 1)
            let check = try await DestinationHarness.rows(connection, """
                SELECT count(*), count(DISTINCT id), min(id), max(id), count(*) FILTER (WHERE name = 'a' || id), max(name) FILTER (WHERE id = 1)
                FROM \(SQL.quoteIdentifier(schema)).items
                """)
            #expect(check == [["55999", "55999", "1", "55999", "55998", "u1"]])
        }
    }
}
