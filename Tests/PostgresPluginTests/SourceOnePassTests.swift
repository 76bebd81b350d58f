import Foundation
import PostgresClient
import SluiceWire
import Testing

/// `resumable_read_min_bytes`: a full refresh of a table smaller than it is read in one pass
/// (physical order, one state), a larger one resumably (key or block order, states on the way).
@Suite("Source: small tables in one pass", .serialized)
struct SourceOnePassTests {
    /// A table whose physical order is not its key order: ids 1…500 updated after the load,
    /// so their new versions follow ids 501…2000 on the table's pages.
    private static func shuffledTable(_ s: String, _ name: String, key: Bool, _ db: PostgresConnection) async throws {
        _ = try await db.executeScript("""
            CREATE TABLE \(s).\(name) (id int\(key ? " PRIMARY KEY" : ""), v text) WITH (fillfactor = 100);
            INSERT INTO \(s).\(name) SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g;
            UPDATE \(s).\(name) SET v = repeat('y', 100) WHERE id <= 500;
            """)
    }

    private static func physicalOrder(_ s: String, _ name: String, _ db: PostgresConnection) async throws -> [Int64] {
        try await SourceHarness.query(db, "SELECT id FROM \(s).\(name) ORDER BY ctid").map { Int64($0[0] ?? "") ?? -1 }
    }

    @Test("a small table (with or without a primary key) is read in one pass: physical order, only the final state, whatever checkpoint_interval says")
    func smallTableInOnePass() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            try await Self.shuffledTable(s, "keyed", key: true, db)
            try await Self.shuffledTable(s, "keyless", key: false, db)
            for name in ["keyed", "keyless"] {
                let physical = try await Self.physicalOrder(s, name, db)
                try #require(physical != Array(1...2000), "the updated rows moved: physical order is not key order")
                // The harness reads every table resumably (0); the default is 256 MiB.
                let read = try await SourceHarness.read([SourceHarness.stream(schema, name)],
                                                        overrides: ["batch_size": 100, "resumable_read_min_bytes": 256 << 20])
                #expect(try SourceReadTests.ids(read, name) == physical, "\(name): rows in physical order, each once")
                #expect(read.batches.count == 20)
                #expect(read.states.count == 1, "\(name): checkpoint_interval 0, yet only the stream's final state")
                let state = try #require(read.states.first)
                #expect(state.streamComplete)
                let json = SourceHarness.json(state)
                #expect(json["complete"] as? Bool == true)
                #expect((json["key_columns"] as? [String])?.isEmpty == true, "\(name): \(json)")
                #expect(json["key_ranges"] == nil && json["ranges"] == nil)
            }
        }
    }

    @Test("a table at least resumable_read_min_bytes, a read with a limit, and 0 read resumably: key order (block order without a key) with a state per batch")
    func resumableReads() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            try await Self.shuffledTable(s, "keyed", key: true, db)
            try await Self.shuffledTable(s, "keyless", key: false, db)
            let size = Int(try await SourceHarness.query(db, "SELECT pg_table_size('\(s).keyed'::regclass)")[0][0] ?? "") ?? 0
            try #require(size > 8192)
            for threshold in [0, 8192, size] {
                let keyed = try await SourceHarness.read([SourceHarness.stream(schema, "keyed")],
                                                         overrides: ["batch_size": 100, "resumable_read_min_bytes": threshold])
                #expect(try SourceReadTests.ids(keyed, "keyed") == Array(1...2000), "threshold \(threshold): key order")
                #expect(keyed.states.count == 21, "threshold \(threshold): a state after every batch, and the final one")
                let keyless = try await SourceHarness.read([SourceHarness.stream(schema, "keyless")],
                                                           overrides: ["batch_size": 100, "resumable_read_min_bytes": threshold])
                #expect(try SourceReadTests.ids(keyless, "keyless") == (try await Self.physicalOrder(s, "keyless", db)))
                #expect(keyless.states.count == 21)
                #expect((SourceHarness.json(try #require(keyless.states.first))["key_columns"] as? [String]) == ["ctid"])
            }
            // A limit takes the first rows by key, so the read keeps the key's order.
            let limited = try await SourceHarness.read([SourceHarness.stream(schema, "keyed", limit: 150)],
                                                       overrides: ["batch_size": 100, "resumable_read_min_bytes": 256 << 20])
            #expect(try SourceReadTests.ids(limited, "keyed") == Array(1...150))
        }
    }

    @Test("an interrupted resumable read's state is resumed by key even when the table is now under the threshold")
    func unfinishedStateResumes() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            try await Self.shuffledTable(s, "keyed", key: true, db)
            let stream = SourceHarness.stream(schema, "keyed")
            let first = try await SourceHarness.read([stream], overrides: ["batch_size": 100])
            let middle = first.states[4]
            #expect(SourceHarness.json(middle)["complete"] as? Bool == false)
            let resumed = try await SourceHarness.read([stream], states: [middle],
                                                       overrides: ["batch_size": 100, "resumable_read_min_bytes": 256 << 20])
            #expect(try SourceReadTests.ids(resumed, "keyed") == Array(501...2000), "after the state's key, in key order")
            // A finished read's state starts the next one from the beginning, in one pass.
            let again = try await SourceHarness.read([stream], states: [try #require(resumed.states.last)],
                                                     overrides: ["batch_size": 100, "resumable_read_min_bytes": 256 << 20])
            #expect(try SourceReadTests.ids(again, "keyed").sorted() == Array(1...2000))
            #expect(again.states.count == 1)
        }
    }
}
