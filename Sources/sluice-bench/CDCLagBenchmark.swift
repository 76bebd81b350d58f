import ArgumentParser
import Foundation
import PostgresClient

/// `sluice-bench cdc-lag`: end-to-end lag of change data capture. `plugin-host pipeline --follow`
/// streams a table from postgres-plugin's CDC source into postgres-plugin's destination while
/// pgbench commits single-row inserts at a steady rate; each row's lag (its insert time at the
/// source to the moment a poll of the destination first sees it, both on the server's clock) is
/// collected and p50, p99 and the maximum are printed. Then the watched table stays quiet while
/// another table is written, and the slot's lag behind the server's WAL is sampled: an idle
/// source must keep its slot advancing.
struct CDCLagBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdc-lag",
        abstract: "Commit-to-visible lag of a following CDC pipeline under pgbench, then slot lag while idle.")

    @Option(help: "Seconds of steady load.")
    var seconds = 60

    @Option(help: "Transactions per second pgbench commits (one inserted row each).")
    var rate = 1_000

    @Option(help: "Seconds the watched table stays quiet afterwards while another table is written.")
    var idleSeconds = 60

    @Option(help: "Path of the postgres-plugin executable (default: next to sluice-bench).")
    var plugin: String?

    @Option(help: "Path of plugin-host (default: next to sluice-bench).")
    var host: String?

    @Option(help: "Path of pgbench (default: found on PATH).")
    var pgbench = "pgbench"

    private static let slot = "sluice_bench_lag", publication = "sluice_bench_lag"
    private static let table = "sluice_bench.cdc_lag", destination = "sluice_bench_lagdst.cdc_lag", unrelated = "sluice_bench.cdc_lag_other"

    mutating func run() async throws {
        let db = try await PostgresConnection.connect(BenchEnvironment.connection)
        defer { db.close() }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-lag-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try await reset(db)
        _ = try await db.executeScript("""
            CREATE SCHEMA IF NOT EXISTS sluice_bench;
            CREATE TABLE \(Self.table) (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT clock_timestamp(), payload text);
            CREATE TABLE \(Self.unrelated) (id bigserial PRIMARY KEY, payload text);
            CREATE PUBLICATION \(Self.publication) FOR TABLE \(Self.table);
            """)

        let pipeline = work.appendingPathComponent("pipeline.json")
        try CDCPipelineFile.write(to: pipeline, plugin: plugin, table: "cdc_lag", slot: Self.slot, publication: Self.publication,
                                  destinationSchema: "sluice_bench_lagdst", state: work.appendingPathComponent("state.json"))
        let hostLog = work.appendingPathComponent("plugin-host.log")
        _ = FileManager.default.createFile(atPath: hostLog.path, contents: nil)
        let following = Process()
        following.executableURL = URL(fileURLWithPath: CDCPipelineFile.hostExecutable(host))
        following.arguments = ["pipeline", "--pipeline", pipeline.path, "--follow", "--log-level", "warn"]
        following.standardOutput = FileHandle.nullDevice
        following.standardError = try FileHandle(forWritingTo: hostLog)
        try following.run()
        func hostFailed() -> ValidationError {
            let log = (try? String(contentsOf: hostLog, encoding: .utf8)) ?? ""
            return ValidationError("plugin-host pipeline --follow stopped; its stderr ends:\n\(log.suffix(2000))")
        }

        // The snapshot (empty) is done once the destination table exists.
        let deadline = Date().addingTimeInterval(120)
        while try await db.execute("SELECT to_regclass($1) IS NULL", [.text(Self.destination)]).rows.first?.first == "t" {
            guard following.isRunning, Date() < deadline else { following.terminate(); throw hostFailed() }
            try await Task.sleep(for: .milliseconds(100))
        }

        print("pgbench: \(rate) single-row inserts/s for \(seconds) s, plugin-host pipeline --follow streaming them…")
        let load = try startPgbench(work: work)
        var lags: [Double] = []
        var seen = Set<Int>()
        var floor = 0
        func poll() async throws {
            let rows = try await db.execute("SELECT id, extract(epoch FROM clock_timestamp() - created_at)::float8 FROM \(Self.destination) WHERE id > $1",
                                            [.text(String(floor))]).rows
            for row in rows {
                guard let id = row[0].flatMap(Int.init), let lag = row[1].flatMap(Double.init), seen.insert(id).inserted else { continue }
                lags.append(lag)
            }
            while seen.contains(floor + 1) { seen.remove(floor + 1); floor += 1 }
        }
        while load.isRunning {
            guard following.isRunning else { load.terminate(); throw hostFailed() }
            try await poll()
            try await Task.sleep(for: .milliseconds(100))
        }
        guard load.terminationStatus == 0 else { following.terminate(); throw ValidationError("pgbench exited with status \(load.terminationStatus)") }
        let inserted = try await db.execute("SELECT count(*) FROM \(Self.table)").rows[0][0].flatMap(Int.init) ?? 0
        let drain = Date().addingTimeInterval(120)
        while lags.count < inserted {
            guard following.isRunning, Date() < drain else { following.terminate(); throw hostFailed() }
            try await poll()
            try await Task.sleep(for: .milliseconds(100))
        }
        lags.sort()
        func percentile(_ p: Double) -> Double { lags.isEmpty ? 0 : lags[min(lags.count - 1, Int(Double(lags.count) * p))] }
        print(String(format: "%d rows committed at the source, %d seen at the destination: lag p50 %.2f s, p99 %.2f s, max %.2f s (targets: p50 < 2 s, p99 < 10 s)",
                     inserted, lags.count, percentile(0.5), percentile(0.99), lags.last ?? 0))

        if idleSeconds > 0 { try await idle(db, following: following, hostFailed: hostFailed) }

        following.terminate()
        following.waitUntilExit()
        guard following.terminationStatus == 130 else { throw ValidationError("plugin-host exited \(following.terminationStatus) on SIGTERM, not 130") }
        try await reset(db)
    }

    /// Writes rows into a table outside the publication for ``idleSeconds`` and samples how far
    /// the slot's confirmed position stays behind the server's WAL.
    private func idle(_ db: PostgresConnection, following: Process, hostFailed: () -> ValidationError) async throws {
        print("idle: the watched table stays quiet for \(idleSeconds) s while \(Self.unrelated) is written…")
        let start = try await db.execute("SELECT pg_current_wal_lsn()::text").rows[0][0] ?? ""
        let lagQuery = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1"
        var samples: [Int] = []
        let end = Date().addingTimeInterval(Double(idleSeconds))
        var nextSample = Date()
        while Date() < end {
            guard following.isRunning else { throw hostFailed() }
            _ = try await db.execute("INSERT INTO \(Self.unrelated) (payload) SELECT repeat('x', 200) FROM generate_series(1, 100)")
            if Date() >= nextSample {
                samples.append(try await db.execute(lagQuery, [.text(Self.slot)]).rows.first?.first.flatMap { $0.flatMap(Int.init) } ?? -1)
                nextSample = Date().addingTimeInterval(5)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let written = try await db.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint", [.text(start)]).rows[0][0].flatMap(Int.init) ?? 0
        let last = try await db.execute(lagQuery, [.text(Self.slot)]).rows.first?.first.flatMap { $0.flatMap(Int.init) } ?? -1
        func mb(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_000_000) }
        print("idle: \(mb(written)) of unrelated WAL written; slot lag sampled every 5 s: max \(mb(samples.max() ?? 0)), at the end \(mb(last))"
              + (last < written / 2 ? " (bounded: the slot advanced)" : " (NOT bounded: the slot did not advance)"))
    }

    private func startPgbench(work: URL) throws -> Process {
        let script = work.appendingPathComponent("insert.sql")
        try "INSERT INTO \(Self.table) (payload) VALUES ('pgbench row');\n".write(to: script, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [pgbench, "-n", "-c", "4", "-j", "2", "-R", String(rate), "-T", String(seconds), "-f", script.path,
                             ProcessInfo.processInfo.environment["PGDATABASE"] ?? "postgres"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Drops what an earlier run left: the slot (once no walsender holds it), publication and tables.
    private func reset(_ db: PostgresConnection) async throws {
        for _ in 0..<100 {
            _ = try await db.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active",
                                     [.text(Self.slot)])
            if try await db.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [.text(Self.slot)]).rows.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        _ = try await db.executeScript("""
            DROP PUBLICATION IF EXISTS \(Self.publication);
            DROP TABLE IF EXISTS \(Self.table), \(Self.unrelated);
            DROP SCHEMA IF EXISTS sluice_bench_lagdst CASCADE;
            """)
    }
}
