import Foundation
import PostgresClient
import Testing

/// Where a destination's tables land (`schema_template`, `table_name_template`), through
/// `plugin-host pipeline` with the real binaries: collisions are refused before data moves,
/// templates keep same-named tables of two source schemas apart, and committed states stay
/// keyed by stream and by the table's schema.
@Suite("destination naming", .serialized)
struct DestinationNamingTests: PipelineWorkspace {
    let prefix = "naming_\(UInt32.random(in: 0...UInt32.max))"
    let files = FileManager.default.temporaryDirectory.appendingPathComponent("naming-\(UUID().uuidString)")

    /// Two source schemas, each with an `orders` table of `rows` rows (ids 1…rows; `a`'s
    /// amounts are the id, `b`'s the id times 10).
    private func seed(_ connection: PostgresConnection, rows: Int) async throws -> (String, String) {
        let a = schema("a"), b = schema("b")
        for (source, factor) in [(a, 1), (b, 10)] {
            let table = SQL.quoteQualified(schema: source, name: "orders")
            _ = try await connection.executeScript("""
                CREATE SCHEMA IF NOT EXISTS \(SQL.quoteIdentifier(source));
                CREATE TABLE IF NOT EXISTS \(table) (id bigint PRIMARY KEY, amount bigint);
                INSERT INTO \(table) SELECT g, g * \(factor) FROM generate_series(1, \(rows)) AS g ON CONFLICT DO NOTHING;
                """)
        }
        return (a, b)
    }

    private func pipeline(_ a: String, _ b: String, destination: String, _ extra: [String] = []) async throws -> CommandResult {
        try await run(["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", try postgresConfig(a, "schemas: [\(a), \(b)]\n"),
                       "--destination", Binaries.postgresPlugin.path, "--destination-config", destination, "--retries", "0"] + extra)
    }

    private func tables(_ connection: PostgresConnection) async throws -> [String] {
        try await connection.execute("""
            SELECT table_schema || '.' || table_name FROM information_schema.tables
            WHERE starts_with(table_schema, $1) AND table_name <> '_sluice_state' ORDER BY 1
            """, [.text(prefix + "_")]).rows.map { $0[0] ?? "" }
    }

    @Test("by default public.orders and billing.orders collide: refused before any table is made, naming both streams")
    func collisionRefused() async throws {
        try await withDatabase { connection in
            let (a, b) = try await seed(connection, rows: 10)
            let target = schema("dst")
            let result = try await pipeline(a, b, destination: try postgresConfig(target))
            #expect(result.exitCode == 70, "\(result.stderr)")
            #expect(result.stderr.contains("TABLE_NAME_COLLISION"), "\(result.stderr)")
            #expect(result.stderr.contains("\(a).orders") && result.stderr.contains("\(b).orders"), "\(result.stderr)")
            #expect(result.stderr.contains("\(target).orders"), "\(result.stderr)")
            #expect(try await tables(connection) == ["\(a).orders", "\(b).orders"])
        }
    }

    @Test("table_name_template {namespace}_{name}: each stream gets its own table with its own rows")
    func tableTemplate() async throws {
        try await withDatabase { connection in
            let (a, b) = try await seed(connection, rows: 50)
            let target = schema("dst")
            let result = try await pipeline(a, b, destination: try postgresConfig(target, "table_name_template: \"{namespace}_{name}\"\n"))
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(try await tables(connection) == ["\(a).orders", "\(b).orders", "\(target).\(a)_orders", "\(target).\(b)_orders"])
            for (source, factor) in [(a, 1), (b, 10)] {
                let copy = SQL.quoteQualified(schema: target, name: "\(source)_orders")
                let rows = try await connection.execute("SELECT count(*), sum(amount) FROM \(copy)").rows
                #expect(rows.first == ["50", String(1275 * factor)])
            }
        }
    }

    @Test("schema_template: same-named tables land in their own schemas; a dropped one is read again alone, the other resumes")
    func schemaTemplateKeepsStatesApart() async throws {
        try await withDatabase { connection in
            let (a, b) = try await seed(connection, rows: 40)
            let destination = try postgresConfig(schema("state"), "schema_template: \"{namespace}_copy\"\n")
            let catalog = try file("catalog.json", """
                {"streams": [{"namespace": "\(a)", "name": "orders", "sync_mode": "incremental", "cursor": "id"},
                             {"namespace": "\(b)", "name": "orders", "sync_mode": "incremental", "cursor": "id"}]}
                """)
            let arguments = ["--catalog", catalog, "--write-mode", "append", "--name", "naming"]
            let first = try await pipeline(a, b, destination: destination, arguments)
            #expect(first.exitCode == 0, "\(first.stderr)")
            #expect(try await tables(connection) == ["\(a).orders", "\(a)_copy.orders", "\(b).orders", "\(b)_copy.orders"])
            let states = try await connection.execute(
                "SELECT stream_namespace, table_schema, table_name FROM \(SQL.quoteQualified(schema: schema("state"), name: "_sluice_state")) ORDER BY 1").rows
            #expect(states == [[a, "\(a)_copy", "orders"], [b, "\(b)_copy", "orders"]])

            // a's copy is dropped and both sources grow: a is read again from the start, b only
            // its new rows; with append, any other outcome would lose or duplicate rows.
            _ = try await connection.execute("DROP TABLE \(SQL.quoteQualified(schema: "\(a)_copy", name: "orders"))")
            _ = try await seed(connection, rows: 60)
            let second = try await pipeline(a, b, destination: destination, arguments)
            #expect(second.exitCode == 0, "\(second.stderr)")
            for source in [a, b] {
                let rows = try await connection.execute(
                    "SELECT count(*), count(DISTINCT id) FROM \(SQL.quoteQualified(schema: "\(source)_copy", name: "orders"))").rows
                #expect(rows.first == ["60", "60"], "\(source)")
            }
        }
    }

    @Test("a template with an unknown placeholder fails the Write with INVALID_CONFIG naming the setting")
    func unknownPlaceholder() async throws {
        try await withDatabase { connection in
            let (a, b) = try await seed(connection, rows: 1)
            let result = try await pipeline(a, b, destination: try postgresConfig(schema("dst"), "table_name_template: \"{stream}\"\n"))
            #expect(result.exitCode == 70, "\(result.stderr)")
            #expect(result.stderr.contains("INVALID_CONFIG"), "\(result.stderr)")
            #expect(result.stderr.contains("$.table_name_template: may only use the placeholders {namespace} and {name}"), "\(result.stderr)")
        }
    }
}
