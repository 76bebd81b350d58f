import Foundation
import PostgresClient
import SluiceWire
import Testing

/// The source's PostgreSQL rows (PROTOCOL.md §5.12): a stream the host allows them for goes as
/// binary COPY tuples of its columns, still checkpointed by key and resumable.
@Suite("postgres-plugin source: PostgreSQL rows")
struct SourcePostgresRowsTests {
    /// Each tuple's fields, as the bytes of each (nil for NULL).
    static func tuples(_ result: SourceReadResult, columns: Int) throws -> [[[UInt8]?]] {
        var all: [[[UInt8]?]] = []
        for batch in result.batches {
            _ = try PostgresRows.walk(batch.postgresRows, fields: columns) { range in
                var fields: [[UInt8]?] = [], index = range.lowerBound
                while index < range.upperBound {
                    let length = Int(Int32(bitPattern: batch.postgresRows[index ..< index + 4].reduce(0) { $0 << 8 | UInt32($1) }))
                    index += 4
                    fields.append(length < 0 ? nil : Array(batch.postgresRows[index ..< index + length]))
                    index += max(length, 0)
                }
                all.append(fields)
            }
        }
        return all
    }

    static func bigint(_ bytes: [UInt8]?) -> Int64? {
        bytes.map { Int64(bitPattern: $0.reduce(0) { $0 << 8 | UInt64($1) }) }
    }

    @Test("tuples of the stream's columns, checkpointed by key and resumed from a middle state; only where the host allowed them")
    func keyedTable() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id bigint PRIMARY KEY, name text, at timestamptz);
                INSERT INTO \(s).t SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'n' || g END, '2026-01-01'::timestamptz + g * interval '1 s'
                FROM generate_series(1, 3000) g;
                """)
            var stream = SourceHarness.stream(schema, "t")
            stream.postgresRows = true
            let full = try await SourceHarness.read([stream], overrides: ["batch_size": 500])
            #expect(full.batches.count >= 6)
            #expect(full.batches.allSatisfy { $0.carriesPostgresRows && $0.columns.isEmpty && $0.operations.isEmpty })
            let rows = try Self.tuples(full, columns: 3)
            #expect(rows.count == 3000 && full.batches.reduce(0) { $0 + $1.rowCount } == 3000)
            #expect(rows.map { Self.bigint($0[0]) } == (1 ... 3000).map { Int64($0) })
            #expect(rows[6][1] == nil && rows[0][1] == Array("n1".utf8))
            #expect(full.lastStateJSON["complete"] as? Bool == true)

            let middle = full.states.count / 2
            let before = full.batches.prefix(full.batchesBeforeState[middle]).reduce(0) { $0 + $1.rowCount }
            let resumed = try await SourceHarness.read([stream], states: [full.states[middle]], overrides: ["batch_size": 500])
            let rest = try Self.tuples(resumed, columns: 3).map { Self.bigint($0[0]) }
            #expect(before > 0 && before < 3000)
            #expect(rest == (before + 1 ... 3000).map { Int64($0) })

            // Not allowed by the host: column vectors, as always.
            let plain = try await SourceHarness.read([SourceHarness.stream(schema, "t")], overrides: ["batch_size": 500])
            #expect(plain.batches.allSatisfy { !$0.carriesPostgresRows && $0.columns.count == 3 })
        }
    }

    @Test("a text key sent after the columns is left out of the tuples; a column read through a cast (money) keeps the stream to column vectors")
    func keyFieldsAndCasts() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).u (code text PRIMARY KEY, amount numeric);
                INSERT INTO \(s).u SELECT 'k' || lpad(g::text, 4, '0'), g / 3.0 FROM generate_series(1, 1200) g;
                CREATE TABLE \(s).m (id int PRIMARY KEY, price money);
                INSERT INTO \(s).m VALUES (1, 12.5), (2, NULL);
                CREATE TABLE \(s).h (a int, b text);
                INSERT INTO \(s).h SELECT g, 'h' FROM generate_series(1, 700) g;
                """)
            var u = SourceHarness.stream(schema, "u"), m = SourceHarness.stream(schema, "m"), h = SourceHarness.stream(schema, "h")
            u.postgresRows = true
            m.postgresRows = true
            h.postgresRows = true
            let result = try await SourceHarness.read([u, m, h], overrides: ["batch_size": 500])
            func batches(_ name: String) -> [RecordBatch] { result.batches.filter { $0.stream.name == name } }
            #expect(batches("u").allSatisfy(\.carriesPostgresRows) && batches("h").allSatisfy(\.carriesPostgresRows))
            #expect(!batches("m").isEmpty && batches("m").allSatisfy { !$0.carriesPostgresRows && $0.columns.count == 2 })
            var uOnly = result, hOnly = result
            uOnly.batches = batches("u")
            hOnly.batches = batches("h")
            let codes = try Self.tuples(uOnly, columns: 2).map { String(decoding: $0[0] ?? [], as: UTF8.self) }
            #expect(codes == (1 ... 1200).map { "k" + String(repeating: "0", count: 4 - String($0).count) + String($0) })
            // Without a primary key the table is read by ctid, which travels after the columns: not in the tuples.
            #expect(try Self.tuples(hOnly, columns: 2).count == 700)
            // The states still name each stream's last key (text and ctid).
            let uStates = result.states.filter { $0.stream?.name == "u" }
            #expect(uStates.count >= 3, "\(uStates.count)")
        }
    }
}
