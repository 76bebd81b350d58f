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
                let summary = try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any]
                let streams = summary?["streams"] as? [[String: Any]]
                #expect(streams?.first?["source_lag_bytes"] is Int, "the summary shows the slot's lag: \(second.stdout)")
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

    @Test("every random and extreme value of every type arrives exactly by snapshot and by streamed changes, under other date and interval styles; columns added before or between changes reach the destination; one added with a default fails naming it")
    func everyTypeAndAddedColumns() async throws {
        let source = schema("tsrc"), destination = schema("tdst"), slot = prefix + "_tslot", publication = prefix + "_tpub"
        try await withDatabase { connection in
            let database = try await connection.execute("SELECT current_database()").rows.first?.first ?? nil
            let quotedDatabase = SQL.quoteIdentifier(database ?? "")
            do {
                // The walsender takes the database's defaults: values must still read back as themselves.
                _ = try await connection.executeScript("ALTER DATABASE \(quotedDatabase) SET DateStyle = 'SQL, DMY'; ALTER DATABASE \(quotedDatabase) SET IntervalStyle = 'sql_standard'")
                _ = try await connection.executeScript("CREATE SCHEMA \(SQL.quoteIdentifier(source)); CREATE SCHEMA \(SQL.quoteIdentifier(destination))")
                let optional = await RandomDataTests.optionalGroups(connection)
                _ = try await connection.executeScript(RandomDataTests.seedSQL(schema: source, optional: optional))
                let table = SQL.quoteQualified(schema: source, name: "wide"), copy = SQL.quoteQualified(schema: destination, name: "wide")
                let sourceConfig = try postgresConfig(source, "schemas: [\(source)]\ncdc_slot: \(slot)\ncdc_publication: \(publication)")
                let pipeline = try file("pipeline-types.yaml", """
                    source: {plugin: \(Binaries.postgresPlugin.path), config: \(sourceConfig)}
                    destinations:
                      - {plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(destination))}
                    catalog:
                      streams:
                        - {name: wide, namespace: \(source), sync_mode: cdc}
                    state: \(files.appendingPathComponent("state-types.json").path)
                    """)
                func expectEqual(_ added: [String], _ comment: Comment) async throws {
                    #expect(try await RandomDataTests.differences(connection, schema: source, copy: copy, optional: optional) == [], comment)
                    #expect(try await RandomDataTests.typeDifferences(connection, source: "\(source).wide", copy: "\(destination).wide") == [], comment)
                    for column in added {
                        let name = SQL.quoteIdentifier(column)
                        #expect(try await connection.execute("""
                            SELECT count(*) FROM \(table) s FULL JOIN \(copy) d USING (id) WHERE s.\(name) IS DISTINCT FROM d.\(name)
                            """).rows == [["0"]], "\(comment): column \(column)")
                    }
                }

                let first = try await run(["pipeline", "--pipeline", pipeline])
                #expect(first.exitCode == 0, "\(first.stderr)")
                try await expectEqual([], "after the snapshot")

                // Every column's values travel as changes: new keys (the extremes among them), every
                // column of existing rows updated, deletes; then a column is added and changes follow,
                // so the next run's plan has the column while its first changes predate it.
                let names = (RandomDataTests.columns + optional.flatMap(\.columns)).map { SQL.quoteIdentifier($0.name) }
                let list = names.joined(separator: ", ")
                _ = try await connection.executeScript("""
                    INSERT INTO \(table) SELECT id + 100000, \(list) FROM \(table) WHERE id <= 1000;
                    UPDATE \(table) w SET (\(list)) = (SELECT \(names.map { "o." + $0 }.joined(separator: ", ")) FROM \(table) o WHERE o.id = w.id + 1000)
                      WHERE w.id BETWEEN 1 AND 500;
                    DELETE FROM \(table) WHERE id BETWEEN 2001 AND 2100;
                    ALTER TABLE \(table) ADD COLUMN added_a text;
                    INSERT INTO \(table) (id, i4, added_a) VALUES (900001, 1, 'after the ALTER');
                    UPDATE \(table) SET added_a = 'set ' || id, t = 'changed' WHERE id BETWEEN 1 AND 50;
                    """)
                let second = try await run(["pipeline", "--pipeline", pipeline])
                #expect(second.exitCode == 0, "\(second.stderr)")
                try await expectEqual(["added_a"], "after streamed changes of every type and a column added between them")

                // A column added after the last state, before any change: the run's plan has it.
                _ = try await connection.executeScript("""
                    ALTER TABLE \(table) ADD COLUMN added_b numeric(10,3);
                    UPDATE \(table) SET added_b = id / 7.0 WHERE id % 3 = 0;
                    """)
                let third = try await run(["pipeline", "--pipeline", pipeline])
                #expect(third.exitCode == 0, "\(third.stderr)")
                try await expectEqual(["added_a", "added_b"], "after a column added between runs")

                // A default fills the existing rows without changes in the WAL: loud, naming the column.
                _ = try await connection.executeScript("ALTER TABLE \(table) ADD COLUMN added_c int NOT NULL DEFAULT 7; UPDATE \(table) SET added_c = 8 WHERE id = 1")
                let fourth = try await run(["pipeline", "--pipeline", pipeline])
                #expect(fourth.exitCode == 70)
                #expect(fourth.stderr.contains("CDC_COLUMN_ADDED_WITH_DEFAULT") && fourth.stderr.contains("added_c"), "\(fourth.stderr)")
            } catch {
                _ = try? await connection.executeScript("ALTER DATABASE \(quotedDatabase) RESET DateStyle; ALTER DATABASE \(quotedDatabase) RESET IntervalStyle")
                await SourceCDCTests.cleanUp(slot: slot, publication: publication)
                throw error
            }
            _ = try? await connection.executeScript("ALTER DATABASE \(quotedDatabase) RESET DateStyle; ALTER DATABASE \(quotedDatabase) RESET IntervalStyle")
            await SourceCDCTests.cleanUp(slot: slot, publication: publication)
        }
    }

    @Test("pipeline --resources lists the slot (with its lag), publication and committed states; --release-resources drops the slot, forgets the states and clears the state file, and the next run starts over with a snapshot")
    func resourcesListedAndReleased() async throws {
        let source = schema("rsrc"), destination = schema("rdst"), slot = prefix + "_rslot", publication = prefix + "_rpub"
        try await withDatabase { connection in
            do {
                let table = SQL.quoteQualified(schema: source, name: "t"), copy = SQL.quoteQualified(schema: destination, name: "t")
                _ = try await connection.executeScript("""
                    CREATE SCHEMA \(SQL.quoteIdentifier(source)); CREATE SCHEMA \(SQL.quoteIdentifier(destination));
                    CREATE TABLE \(table) (id int PRIMARY KEY, note text);
                    INSERT INTO \(table) SELECT g, 'n' || g FROM generate_series(1, 100) g;
                    """)
                let statePath = files.appendingPathComponent("state-resources.json").path
                let pipeline = try file("pipeline-resources.yaml", """
                    name: resources-test
                    source: {plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(source, "schemas: [\(source)]\ncdc_slot: \(slot)\ncdc_publication: \(publication)"))}
                    destinations:
                      - {plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(destination))}
                    catalog:
                      streams:
                        - {name: t, namespace: \(source), sync_mode: cdc}
                    state: \(statePath)
                    """)
                let first = try await run(["pipeline", "--pipeline", pipeline])
                #expect(first.exitCode == 0, "\(first.stderr)")
                _ = try await connection.executeScript("UPDATE \(table) SET note = 'changed' WHERE id <= 10")

                let listed = try await run(["pipeline", "--pipeline", pipeline, "--resources"])
                #expect(listed.exitCode == 0, "\(listed.stderr)")
                #expect(listed.stdout.contains("replication_slot \(slot): not in use"), "\(listed.stdout)")
                #expect(listed.stdout.contains("holds back"), "the slot's lag: \(listed.stdout)")
                #expect(listed.stdout.contains("publication \(publication): publishes 1 table"), "\(listed.stdout)")
                #expect(listed.stdout.contains("committed_states \(destination)._sluice_state: 1 states of the pipeline"), "\(listed.stdout)")
                #expect(try await connection.execute("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", [.text(slot)]).rows == [["1"]],
                        "listing changes nothing")

                let released = try await run(["pipeline", "--pipeline", pipeline, "--release-resources"])
                #expect(released.exitCode == 0, "\(released.stderr)")
                #expect(released.stdout.contains("replication_slot \(slot)") && released.stdout.contains("[released]"), "\(released.stdout)")
                #expect(released.stdout.contains("publication \(publication)") && released.stdout.contains("[kept]"), "\(released.stdout)")
                #expect(released.stdout.contains("state file \(statePath): cleared"), "\(released.stdout)")
                #expect(try await connection.execute("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", [.text(slot)]).rows == [["0"]])
                #expect(try await connection.execute("SELECT count(*) FROM \(SQL.quoteQualified(schema: destination, name: "_sluice_state"))").rows == [["0"]])

                // Starting over: a new slot and snapshot, and the copy equals the source again.
                let again = try await run(["pipeline", "--pipeline", pipeline])
                #expect(again.exitCode == 0, "\(again.stderr)")
                #expect(again.stderr.contains("created the replication slot \(slot)"), "\(again.stderr)")
                #expect(try await connection.execute("""
                    SELECT count(*) FROM ((TABLE \(table) EXCEPT TABLE \(copy)) UNION ALL (TABLE \(copy) EXCEPT TABLE \(table))) d
                    """).rows == [["0"]])
            } catch {
                await SourceCDCTests.cleanUp(slot: slot, publication: publication)
                throw error
            }
            await SourceCDCTests.cleanUp(slot: slot, publication: publication)
        }
    }
}
