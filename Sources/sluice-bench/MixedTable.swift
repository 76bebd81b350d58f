import PostgresClient

/// The benchmarks' mixed 8-column source table in schema sluice_bench (bigint key, text,
/// numeric(12,2), double, boolean, timestamptz, jsonb, text[]).
enum MixedTable {
    /// Creates `sluice_bench.<name>` with `rows` rows unless it already holds exactly that many.
    static func prepare(_ db: PostgresConnection, name: String, rows: Int, primaryKey: Bool) async throws {
        _ = try await db.execute("CREATE SCHEMA IF NOT EXISTS sluice_bench")
        let existing = try await db.execute("""
            SELECT coalesce((SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = 'sluice_bench' AND c.relname = '\(name)'), -1)
            """).rows[0][0].flatMap(Int.init) ?? -1
        // reltuples is an estimate on large tables: count when it is close.
        if abs(existing - rows) <= rows / 100,
           try await db.execute("SELECT count(*) FROM sluice_bench.\(name)").rows[0][0].flatMap(Int.init) == rows {
            return
        }
        print("creating sluice_bench.\(name) with \(rows) rows…")
        _ = try await db.executeScript("""
            DROP TABLE IF EXISTS sluice_bench.\(name);
            CREATE TABLE sluice_bench.\(name) (id bigint \(primaryKey ? "PRIMARY KEY" : "NOT NULL"), name text, amount numeric(12,2), score double precision,
                active boolean, created_at timestamptz, payload jsonb, tags text[]);
            INSERT INTO sluice_bench.\(name)
            SELECT g, 'name ' || g, (g % 100000) / 100.0, g * 1.5, g % 2 = 0, '2024-01-01'::timestamptz + g * interval '1 second',
                   jsonb_build_object('k', g, 'v', 'value ' || g), ARRAY['a' || g % 10, 'b' || g % 7]
            FROM generate_series(1, \(rows)) g;
            """)
        _ = try await db.execute("VACUUM ANALYZE sluice_bench.\(name)")
    }
}
