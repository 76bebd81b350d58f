import ArgumentParser
import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire

/// `sluice-bench cdc`: drains a backlog of mixed changes (inserts, updates, deletes) from
/// identical logical replication slots with `pg_recvlogical -f /dev/null` (the reference),
/// through `postgres-plugin`'s CDC source alone (its batches dropped), and end to end through
/// `plugin-host pipeline` into postgres-plugin's destination, in the same run, and prints
/// changes/s and the ratios.
struct CDCBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdc",
        abstract: "Drain N changes through pg_recvlogical, the plugin's CDC source alone, and a plugin-host pipeline into PostgreSQL; print the ratios.")

    @Option(help: "Changes in the backlog (60% inserts, 30% updates, 10% deletes).")
    var changes = 1_000_000

    @Option(help: "Path of the postgres-plugin executable (default: next to sluice-bench).")
    var plugin: String?

    @Option(help: "Path of pg_recvlogical (default: found on PATH).")
    var recvlogical = "pg_recvlogical"

    @Option(help: "Path of plugin-host (default: next to sluice-bench).")
    var host: String?

    private static let slot = "sluice_bench_cdc", referenceSlot = "sluice_bench_cdc_ref", pipelineSlot = "sluice_bench_cdc_e2e"
    private static let publication = "sluice_bench_cdc", destinationSchema = "sluice_bench_cdcdst"

    mutating func run() async throws {
        let db = try await PostgresConnection.connect(BenchEnvironment.connection)
        defer { db.close() }
        try await dropSlots(db)
        _ = try await db.executeScript("""
            CREATE SCHEMA IF NOT EXISTS sluice_bench;
            DROP TABLE IF EXISTS sluice_bench.cdc_mixed;
            DROP PUBLICATION IF EXISTS \(Self.publication);
            DROP SCHEMA IF EXISTS \(Self.destinationSchema) CASCADE;
            CREATE TABLE sluice_bench.cdc_mixed (id bigint PRIMARY KEY, name text, amount numeric(12,2), score double precision, at timestamptz);
            CREATE PUBLICATION \(Self.publication) FOR TABLE sluice_bench.cdc_mixed;
            """)
        // The plugin's first Read makes its slot (empty snapshot); the reference slot starts at the same point.
        let (_, _, firstState) = try await readPlugin(state: nil)
        guard let state = firstState else { throw ValidationError("the plugin sent no state") }
        _ = try await db.execute("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [.text(Self.referenceSlot)])
        // The pipeline's first run makes its own slot and copies the (empty) table.
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-cdc-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let pipeline = work.appendingPathComponent("pipeline.json")
        try CDCPipelineFile.write(to: pipeline, plugin: plugin, table: "cdc_mixed", slot: Self.pipelineSlot, publication: Self.publication,
                                  destinationSchema: Self.destinationSchema, state: work.appendingPathComponent("state.json"))
        _ = try runPipeline(pipeline)

        let inserts = changes * 6 / 10, updates = changes * 3 / 10, deletes = changes - inserts - updates
        print("writing \(inserts) inserts, \(updates) updates, \(deletes) deletes in transactions of 10,000…")
        for start in stride(from: 1, through: inserts, by: 10_000) {
            _ = try await db.execute("""
                INSERT INTO sluice_bench.cdc_mixed SELECT g, 'name ' || g, (g % 100000) / 100.0, g * 1.5,
                  '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series($1::bigint, $2::bigint) g
                """, [.text(String(start)), .text(String(min(inserts, start + 9_999)))])
        }
        for start in stride(from: 1, through: updates, by: 10_000) {
            _ = try await db.execute("UPDATE sluice_bench.cdc_mixed SET amount = amount + 1, name = name || '!' WHERE id BETWEEN $1 AND $2",
                                     [.text(String(start)), .text(String(min(updates, start + 9_999)))])
        }
        for start in stride(from: inserts - deletes + 1, through: inserts, by: 10_000) {
            _ = try await db.execute("DELETE FROM sluice_bench.cdc_mixed WHERE id BETWEEN $1 AND $2",
                                     [.text(String(start)), .text(String(min(inserts, start + 9_999)))])
        }
        let end = try await db.execute("SELECT pg_current_wal_insert_lsn()::text").rows[0][0] ?? ""

        let referenceSeconds = try timeRecvlogical(endpos: end)
        print(String(format: "pg_recvlogical -f /dev/null: %.2f s, %.0f changes/s", referenceSeconds, Double(changes) / referenceSeconds))
        let (seconds, received, _) = try await readPlugin(state: state)
        print(String(format: "postgres-plugin cdc source: %.2f s, %.0f changes/s, %d changes received, ratio %.2f x pg_recvlogical (target 0.9 x)",
                     seconds, Double(received) / seconds, received, referenceSeconds / seconds))
        let pipelineSeconds = try runPipeline(pipeline)
        let differences = try await db.execute("""
            SELECT count(*) FROM ((TABLE sluice_bench.cdc_mixed EXCEPT TABLE \(Self.destinationSchema).cdc_mixed)
              UNION ALL (TABLE \(Self.destinationSchema).cdc_mixed EXCEPT TABLE sluice_bench.cdc_mixed)) d
            """).rows[0][0] ?? "?"
        guard differences == "0" else { throw ValidationError("the destination differs from the source in \(differences) rows") }
        print(String(format: "plugin-host pipeline into PostgreSQL: %.2f s, %.0f changes/s, destination equal to the source, ratio %.2f x pg_recvlogical (target 0.5 x)",
                     pipelineSeconds, Double(changes) / pipelineSeconds, referenceSeconds / pipelineSeconds))
        try await dropSlots(db)
        _ = try await db.executeScript("DROP TABLE sluice_bench.cdc_mixed; DROP PUBLICATION \(Self.publication); DROP SCHEMA \(Self.destinationSchema) CASCADE")
    }

    private func dropSlots(_ db: PostgresConnection) async throws {
        _ = try await db.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ANY($1::text[])",
                                 [.text("{\(Self.slot),\(Self.referenceSlot),\(Self.pipelineSlot)}")])
    }

    /// One bounded run of `plugin-host pipeline --pipeline file`: its seconds.
    private func runPipeline(_ file: URL) throws -> Double {
        try HostRun.seconds(host: CDCPipelineFile.hostExecutable(host), ["pipeline", "--pipeline", file.path],
                            log: file.deletingLastPathComponent().appendingPathComponent("plugin-host.log"))
    }

    /// One bounded CDC Read of the table: seconds, rows received, its last state.
    private func readPlugin(state: State?) async throws -> (Double, Int, State?) {
        let json = try BenchEnvironment.pluginConfigJSON(["cdc_slot": Self.slot, "cdc_publication": Self.publication, "batch_size": 10_000])
        let client = try await PluginClient.launch(executable: BenchEnvironment.pluginExecutable(plugin),
                                                   hello: Hello(hostName: "sluice-bench", hostVersion: "1"))
        let stream = ConfiguredStream(schema: StreamSchema(stream: StreamID(namespace: "sluice_bench", name: "cdc_mixed"), columns: []), syncMode: .cdc)
        let start = Date()
        try await client.startRead(ReadRequest(configJSON: json, catalog: ConfiguredCatalog(streams: [stream]), states: state.map { [$0] } ?? []))
        var received = 0
        var last: State?
        while let message = try await client.nextCallMessage() {
            switch message {
            case .records(let batch): received += batch.rowCount
            case .state(let value): last = value
            default: break
            }
            if case .summary = message { break }
        }
        let seconds = Date().timeIntervalSince(start)
        await client.close()
        return (seconds, received, last)
    }

    private func timeRecvlogical(endpos: String) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [recvlogical, "-d", ProcessInfo.processInfo.environment["PGDATABASE"] ?? "postgres", "--slot", Self.referenceSlot, "--start", "--endpos", endpos, "--no-loop",
                             "-o", "proto_version=1", "-o", "publication_names=\(Self.publication)", "-f", "/dev/null"]
        let start = Date()
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("pg_recvlogical failed with status \(process.terminationStatus)") }
        return Date().timeIntervalSince(start)
    }
}
