import ArgumentParser
import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire

/// `sluice-bench read`: reads the mixed table through `postgres-plugin` over the protocol and
/// compares with `psql`'s `COPY … TO STDOUT` in the same run.
struct ReadBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read N rows through the plugin (1 connection, and 2 reading ranges with split_tables) and compare with psql's COPY TO STDOUT.")

    @Option(help: "Rows in the benchmark table.")
    var rows = 1_000_000

    @Option(help: "Path of the postgres-plugin executable (default: next to sluice-bench).")
    var plugin: String?

    @Option(help: "Rows per record batch.")
    var batchSize = 10_000

    @Option(help: "Connection counts to measure.")
    var connections: [Int] = [1, 2]

    @Flag(help: "Read a copy of the table without a primary key (checkpointed by ctid instead of by key).")
    var withoutPrimaryKey = false

    /// The benchmark table's name in schema sluice_bench.
    private var table: String { withoutPrimaryKey ? "read_mixed_nopk" : "read_mixed" }

    mutating func run() async throws {
        let db = try await PostgresConnection.connect(BenchEnvironment.connection)
        defer { db.close() }
        try await MixedTable.prepare(db, name: table, rows: rows, primaryKey: !withoutPrimaryKey)
        let bytes = Double(try await db.execute("SELECT pg_relation_size('sluice_bench.\(table)')").rows[0][0].flatMap(Int.init) ?? 0)
        let megabytes = bytes / 1_048_576

        let psqlSeconds = try timePsql()
        print(String(format: "psql COPY TO STDOUT: %.2f s, %.0f rows/s, %.1f MB/s (table %.1f MB)",
                     psqlSeconds, Double(rows) / psqlSeconds, megabytes / psqlSeconds, megabytes))
        for count in connections {
            let (seconds, received, peak, cpu) = try await timePlugin(connections: count)
            print(String(format: "plugin, %d connection(s): %.2f s, %.0f rows/s, %.1f MB/s, ratio %.2f x psql, peak RSS %.1f MB, plugin CPU %.2f s, rows %d",
                         count, seconds, Double(received) / seconds, megabytes / seconds, psqlSeconds / seconds,
                         Double(peak) / 1024, cpu, received))
        }
    }

    private func timePsql() throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-X", "-q", "-c", "COPY sluice_bench.\(table) TO STDOUT"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let start = Date()
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("psql failed with status \(process.terminationStatus)") }
        return Date().timeIntervalSince(start)
    }

    /// Seconds, rows received, the plugin's peak RSS in kB and its CPU seconds.
    private func timePlugin(connections: Int) async throws -> (Double, Int, Int, Double) {
        let executable = BenchEnvironment.pluginExecutable(plugin)
        let json = try BenchEnvironment.pluginConfigJSON(["batch_size": batchSize, "max_connections": connections, "split_tables": connections > 1])
        let client = try await PluginClient.launch(executable: executable, hello: Hello(hostName: "sluice-bench", hostVersion: "1"))
        let stream = ConfiguredStream(schema: StreamSchema(stream: StreamID(namespace: "sluice_bench", name: table), columns: []))
        let start = Date()
        try await client.startRead(ReadRequest(configJSON: json, catalog: ConfiguredCatalog(streams: [stream])))
        var schema: StreamSchema?
        var received = 0
        while let message = try await client.nextCallMessage() {
            switch message {
            case .schema(let value): schema = value
            case .records(var batch):
                if let schema { try batch.validate(against: schema) }
                received += batch.rowCount
            default: break
            }
            if case .summary = message { break }
        }
        let seconds = Date().timeIntervalSince(start)
        let peak = Self.peakRSSKilobytes(pid: client.process.pid)
        let cpu = Self.cpuSeconds(pid: client.process.pid)
        await client.close()
        return (seconds, received, peak, cpu)
    }

    /// User plus system CPU time of a running process, in seconds (fields 14 and 15 of /proc/PID/stat).
    static func cpuSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmHWM of a running process, in kB.
    static func peakRSSKilobytes(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
}
