import ArgumentParser
import Foundation
import PostgresClient

/// `sluice-bench streams`: a schema of many small tables read by `plugin-host read` into a JSON
/// Lines file, and copied by `plugin-host pipeline` into a fresh schema, each on one connection
/// per side (streams one after another: the reference) and on `--connections` per side (streams
/// side by side), in interleaved rounds.
struct StreamsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "Time a read and a pipeline of many small tables on one connection per side against several (streams side by side), in the same run.")

    @Option(help: "Tables in the source schema (sluice_bench_many).")
    var tables = 200

    @Option(help: "Rows per table.")
    var rows = 2_000

    @Option(help: "Rounds; each runs the serial read and pipeline, then the side-by-side ones.")
    var rounds = 3

    @Option(help: "Connections per side for the side-by-side run (max_connections).")
    var connections = 2

    @Option(help: "Path of the plugin-host executable (default: next to sluice-bench).")
    var host: String?

    @Option(help: "Path of the postgres-plugin executable (default: next to sluice-bench).")
    var plugin: String?

    static let sourceSchema = "sluice_bench_many"
    static let destinationSchema = "sluice_bench_many_dst"

    mutating func validate() throws {
        guard tables > 0, rows > 0, rounds > 0, (2...8).contains(connections) else {
            throw ValidationError("--tables, --rows and --rounds must be positive, --connections 2 to 8")
        }
    }

    mutating func run() async throws {
        let db = try await PostgresConnection.connect(BenchEnvironment.connection)
        defer { db.close() }
        try await prepare(db)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-streams-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let hostPath = CDCPipelineFile.hostExecutable(host), pluginPath = BenchEnvironment.pluginExecutable(plugin).path
        print("\(tables) tables of \(rows) rows (\(Self.sourceSchema)), \(rounds) rounds; 1 connection per side vs \(connections)")
        var ratios: [String: [Double]] = [:]
        for round in 1...rounds {
            var read: [Double] = [], pipeline: [Double] = []
            for count in [1, connections] {
                let source = work.appendingPathComponent("source-\(count).json"), destination = work.appendingPathComponent("destination-\(count).json")
                try BenchEnvironment.pluginConfigJSON(["schemas": [Self.sourceSchema], "max_connections": count])
                    .write(to: source, atomically: true, encoding: .utf8)
                try BenchEnvironment.pluginConfigJSON(["schema": Self.destinationSchema, "max_connections": count])
                    .write(to: destination, atomically: true, encoding: .utf8)
                let log = work.appendingPathComponent("plugin-host.log"), output = work.appendingPathComponent("read.jsonl")
                read.append(try HostRun.seconds(host: hostPath, ["read", "--plugin", pluginPath, "--config", source.path, "--output", output.path], log: log))
                let lines = try String(contentsOf: output, encoding: .utf8).utf8.count { $0 == UInt8(ascii: "\n") }
                guard lines == tables * rows else { throw ValidationError("read wrote \(lines) lines, not \(tables * rows)") }
                _ = try await db.execute("DROP SCHEMA IF EXISTS \(Self.destinationSchema) CASCADE")
                _ = try await db.execute("CHECKPOINT")
                pipeline.append(try HostRun.seconds(host: hostPath, [
                    "pipeline", "--source", pluginPath, "--source-config", source.path, "--destination", pluginPath,
                    "--destination-config", destination.path, "--name", "bench-streams-\(getpid())-\(round)-\(count)",
                ], log: log))
                try await expectCopied(db)
            }
            for (name, seconds) in [("read", read), ("pipeline", pipeline)] {
                ratios[name, default: []].append(seconds[0] / seconds[1])
                print(String(format: "round %d %@: 1 connection %.2f s, %.0f rows/s | %d connections %.2f s, %.0f rows/s | ratio %.2f x",
                             round, name, seconds[0], Double(tables * rows) / seconds[0], connections, seconds[1], Double(tables * rows) / seconds[1],
                             seconds[0] / seconds[1]))
            }
        }
        for name in ["read", "pipeline"] {
            let sorted = ratios[name, default: []].sorted()
            print(String(format: "%@: median ratio (1-connection seconds / %d-connection seconds) %.2f x", name, connections, sorted[sorted.count / 2]))
        }
    }

    /// Makes the source schema hold `tables` tables of `rows` rows (a key, text, a decimal, a time).
    private func prepare(_ db: PostgresConnection) async throws {
        let existing = try await db.execute("""
            SELECT count(*), coalesce(min(c.reltuples), -1)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind = 'r'
            """, [.text(Self.sourceSchema)]).rows.first
        if existing?[0] == String(tables), existing?[1] == String(rows) { return }
        _ = try await db.execute("DROP SCHEMA IF EXISTS \(Self.sourceSchema) CASCADE")
        _ = try await db.execute("CREATE SCHEMA \(Self.sourceSchema)")
        for index in 1...tables {
            let table = "\(Self.sourceSchema).t\(index)"
            _ = try await db.executeScript("""
                CREATE TABLE \(table) (id bigint PRIMARY KEY, name text, amount numeric(12,2), at timestamptz);
                INSERT INTO \(table) SELECT g, 'name ' || g, g / 100.0, '2024-01-01'::timestamptz + g * interval '1 s'
                FROM generate_series(1, \(rows)) g;
                """)
        }
        _ = try await db.execute("ANALYZE")
    }

    /// Checks that every table arrived whole.
    private func expectCopied(_ db: PostgresConnection) async throws {
        for index in 1...tables {
            let count = try await db.execute("SELECT count(*) FROM \(Self.destinationSchema).t\(index)").rows.first?.first ?? nil
            guard count == String(rows) else {
                throw ValidationError("\(Self.destinationSchema).t\(index) holds \(count ?? "no") rows, not \(rows)")
            }
        }
    }
}
