import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire
import Testing

/// Discover against the real server, through the real plugin binary.
@Suite("postgres-plugin source Discover")
struct SourceDiscoverTests {
    @Test("every relation kind with keys, types, cursor candidates; partitions and excluded tables left out")
    func relationKinds() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE EXTENSION IF NOT EXISTS file_fdw;
                DO $$ BEGIN CREATE SERVER sluice_test_files FOREIGN DATA WRAPPER file_fdw; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
                CREATE TABLE \(s).orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code varchar(20) NOT NULL UNIQUE,
                    amount numeric(12,2), updated_at timestamptz, day date, note text, tenant int, seq serial,
                    UNIQUE (tenant, note));
                CREATE VIEW \(s).order_view AS SELECT id, amount FROM \(s).orders;
                CREATE MATERIALIZED VIEW \(s).order_mv AS SELECT id, note FROM \(s).orders;
                CREATE TABLE \(s).events (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
                CREATE TABLE \(s).events_2024 PARTITION OF \(s).events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
                CREATE FOREIGN TABLE \(s).files (line text) SERVER sluice_test_files OPTIONS (filename '/dev/null', format 'csv');
                CREATE TABLE \(s).tmp_scratch (x int);
                INSERT INTO \(s).orders (code, amount, tenant) SELECT 'c' || g, g, g FROM generate_series(1, 100) g;
                ANALYZE \(s).orders;
                """)
            let catalog = try await SourceHarness.discover(["schemas": [schema], "tables": ["\(schema).*", "!\(schema).tmp_*"]])
            let byName = Dictionary(uniqueKeysWithValues: catalog.streams.map { ($0.schema.stream.name, $0) })
            #expect(Set(byName.keys) == ["orders", "order_view", "order_mv", "events", "files"])
            #expect(byName["orders"]?.kind == "table")
            #expect(byName["order_view"]?.kind == "view")
            #expect(byName["order_mv"]?.kind == "materialized_view")
            #expect(byName["events"]?.kind == "partitioned_table")
            #expect(byName["files"]?.kind == "foreign_table")

            let orders = try #require(byName["orders"])
            #expect(orders.schema.stream.namespace == schema)
            #expect(orders.schema.primaryKey == ["id"])
            #expect(Set(orders.uniqueKeys.map(\.columns)) == [["code"], ["tenant", "note"]])
            #expect(orders.cursorCandidates == ["id", "updated_at", "day", "tenant", "seq"])
            #expect(orders.syncModes == [.fullRefresh, .incremental, .cdc], "a keyed table offers change data capture")
            #expect(orders.estimatedRows == 100)
            #expect(orders.estimatedBytes > 0)
            #expect(orders.readable)
            let columns = Dictionary(uniqueKeysWithValues: orders.schema.columns.map { ($0.name, $0) })
            #expect(columns["id"]?.type.kind == .int64)
            #expect(columns["id"]?.nullable == false)
            #expect(columns["code"]?.type == LogicalType(.string, maxLength: 20))
            #expect(columns["code"]?.sourceType == "character varying(20)")
            #expect(columns["amount"]?.type == LogicalType(.decimal, precision: 12, scale: 2))
            #expect(columns["amount"]?.nullable == true)
            #expect(columns["updated_at"]?.type.kind == .timestamptz)
            #expect(columns["day"]?.type.kind == .date)
            #expect(byName["events"]?.schema.primaryKey == ["id", "at"])
            #expect(byName["order_view"]?.estimatedBytes == -1)
        }
    }

    @Test("Discover does not wait behind a lock another session holds on a table or a partition (estimates come from statistics)")
    func lockedTables() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).busy (id int PRIMARY KEY, note text);
                INSERT INTO \(s).busy SELECT g, repeat('x', 50) FROM generate_series(1, 500) g;
                CREATE TABLE \(s).log (id int, at date NOT NULL) PARTITION BY RANGE (at);
                CREATE TABLE \(s).log_2024 PARTITION OF \(s).log FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
                INSERT INTO \(s).log SELECT g, '2024-02-01' FROM generate_series(1, 300) g;
                ANALYZE \(s).busy; ANALYZE \(s).log_2024;
                """)
            let locker = try await TestDatabase.connect()
            defer { locker.close() }
            try await locker.executeScript("BEGIN; LOCK TABLE \(s).busy, \(s).log_2024 IN ACCESS EXCLUSIVE MODE")
            let catalog = try await SourceHarness.discover(["schemas": [schema], "lock_timeout": "5s"])
            _ = try await locker.execute("ROLLBACK")
            let byName = Dictionary(uniqueKeysWithValues: catalog.streams.map { ($0.schema.stream.name, $0) })
            #expect(byName["busy"]?.estimatedRows == 500)
            #expect((byName["busy"]?.estimatedBytes ?? 0) > 0)
            #expect(byName["log"]?.estimatedRows == 300)
            #expect((byName["log"]?.estimatedBytes ?? 0) > 0)
        }
    }

    @Test("a table the user cannot read is reported with the GRANT that fixes it")
    func unreadable() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            let role = "sluice_reader_\(UUID().uuidString.prefix(6).lowercased())"
            _ = try await db.executeScript("""
                CREATE ROLE \(role) LOGIN PASSWORD 'reader-pw';
                GRANT USAGE ON SCHEMA \(s) TO \(role);
                CREATE TABLE \(s).open (a int); CREATE TABLE \(s).closed (a int);
                GRANT SELECT ON \(s).open TO \(role);
                """)
            let catalog: Catalog
            do {
                catalog = try await SourceHarness.discover(["schemas": [schema], "user": role, "password": "reader-pw"])
            } catch {
                _ = try? await db.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)")
                throw error
            }
            _ = try await db.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)")
            let closed = try #require(catalog.streams.first { $0.schema.stream.name == "closed" })
            #expect(closed.readable == false)
            #expect(closed.remedy == "GRANT SELECT ON \(SQL.quoteQualified(schema: schema, name: "closed")) TO \(SQL.quoteIdentifier(role));")
            #expect(catalog.streams.first { $0.schema.stream.name == "open" }?.readable == true)
        }
    }
}
