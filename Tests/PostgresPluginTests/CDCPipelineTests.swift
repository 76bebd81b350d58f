import Foundation
import PostgresClient
import Testing

/// Change data capture end to end: `plugin-host pipeline` from postgres-plugin's `cdc` source
/// into postgres-plugin's destination, twice, compared in SQL.
@Suite("CDC pipeline")
struct CDCPipelineTests: PipelineWorkspace {
    let prefix = "cdcpipe_\(UInt32.random(in: 0...UInt32.max))"
    let files = FileManager.default.temporaryDirectory.appendingPathComponent("cdc-pipeline-\(UUID().uuidString)")

    @Test("snapshot, then inserts, updates (TOAST kept), deletes and a TRUNCATE reach the destination; the slot stays behind the committed state")
    func snapshotThenChanges() async throws {
        let source = schema("src"), destination = schema("dst"), slot = prefix + "_slot", publication = prefix + "_pub"
        try await withDatabase { connection in
            do {
                let table = SQL.quoteQualified(schema: source, name: "t")
                _ = try await connection.executeScript("""
                    CREATE SCHEMA \(SQL.quoteIdentifier(source)); CREATE SCHEMA \(SQL.quoteIdentifier(destination));
                    CREATE TABLE \(table) (id int PRIMARY KEY, note text, big text, amount numeric(10,2), at timestamptz);
                    INSERT INTO \(table) SELECT g, 'n' || g, NULL, g / 3.0, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 minute'
                      FROM generate_series(1, 1000) g;
                    """)
                let sourceConfig = try postgresConfig(source, "schemas: [\(source)]\ncdc_slot: \(slot)\ncdc_publication: \(publication)")
                let pipeline = try file("pipeline.yaml", """
                    source: {plugin: \(Binaries.postgresPlugin.path), config: \(sourceConfig)}
                    destinations:
                      - {plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(destination))}
                    catalog:
                      streams:
                        - {name: t, namespace: \(source), sync_mode: cdc}
                    state: \(files.appendingPathComponent("state.json").path)
                    """)
                func differences() async throws -> String? {
                    try await connection.execute("""
                        SELECT count(*) FROM ((SELECT id, note, big, amount, at FROM \(table) EXCEPT SELECT id, note, big, amount, at FROM \(SQL.quoteQualified(schema: destination, name: "t")))
                          UNION ALL (SELECT id, note, big, amount, at FROM \(SQL.quoteQualified(schema: destination, name: "t")) EXCEPT SELECT id, note, big, amount, at FROM \(table))) d
                        """).rows.first?.first ?? nil
                }
                let first = try await run(["pipeline", "--pipeline", pipeline])
                #expect(first.exitCode == 0, "\(first.stderr)")
                #expect(try await differences() == "0")

                _ = try await connection.executeScript("UPDATE \(table) SET big = (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 3000) g) WHERE id = 5")
                _ = try await connection.executeScript("UPDATE \(table) SET note = 'toast kept' WHERE id = 5")
                _ = try await connection.executeScript("DELETE FROM \(table) WHERE id > 900")
                _ = try await connection.executeScript("UPDATE \(table) SET amount = -amount WHERE id % 4 = 0")
                _ = try await connection.executeScript("INSERT INTO \(table) VALUES (5000, 'new', NULL, 1.25, now())")
                let second = try await run(["pipeline", "--pipeline", pipeline])
                #expect(second.exitCode == 0, "\(second.stderr)")
                #expect(try await differences() == "0")
                #expect(try await connection.execute("SELECT length(big) FROM \(SQL.quoteQualified(schema: destination, name: "t")) WHERE id = 5").rows == [["96000"]])

                _ = try await connection.executeScript("TRUNCATE \(table)")
                _ = try await connection.executeScript("INSERT INTO \(table) (id, note) VALUES (1, 'after truncate')")
                let third = try await run(["pipeline", "--pipeline", pipeline])
                #expect(third.exitCode == 0, "\(third.stderr)")
                #expect(try await differences() == "0")
                let file = try JSONSerialization.jsonObject(with: Data(contentsOf: files.appendingPathComponent("state.json"))) as? [String: Any]
                let data = try #require(((file?["states"] as? [[String: Any]])?.first?["data"] as? String))
                let inner = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
                let lsnText = try #require(inner?["lsn"] as? String)
                let stateLSN = try #require(LSN(lsnText))
                let confirmedText = try await connection.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", [.text(slot)]).rows.first?.first ?? nil
                #expect(try #require(confirmedText.flatMap(LSN.init)) <= stateLSN, "the slot is never past the destination's committed state")
            } catch {
                await SourceCDCTests.cleanUp(slot: slot, publication: publication)
                throw error
            }
            await SourceCDCTests.cleanUp(slot: slot, publication: publication)
        }
    }
}
