import ArgumentParser
import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire

/// `sluice-bench write`: loads N rows of the mixed table through `postgres-plugin` over the
/// protocol (append with COPY, append with INSERT, upsert into the full table) and compares
/// each with `psql` doing the same work in the same run.
struct WriteBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Write N rows through the plugin and compare with psql's COPY FROM STDIN (and COPY + INSERT … ON CONFLICT for upsert).")

    @Option(help: "Rows to load.")
    var rows = 1_000_000

    @Option(help: "Path of the postgres-plugin executable (default: next to sluice-bench).")
    var plugin: String?

    @Option(help: "Rows per record batch sent to the plugin.")
    var recordBatchRows = 10_000

    @Option(help: "The plugin's batch_size (rows per flush).")
    var batchSize = 10_000

    static let table = "sluice_bench.write_mixed"
    static let psqlTable = "sluice_bench.write_psql"
    static let columns = "id bigint PRIMARY KEY, name text, amount numeric(12,2), score double precision, active boolean, created_at timestamptz, payload jsonb, tags text[]"
    static let updates = "name = EXCLUDED.name, amount = EXCLUDED.amount, score = EXCLUDED.score, active = EXCLUDED.active, created_at = EXCLUDED.created_at, payload = EXCLUDED.payload, tags = EXCLUDED.tags"

    mutating func run() async throws {
        let db = try await PostgresConnection.connect(BenchEnvironment.connection)
        defer { db.close() }
        _ = try await db.execute("CREATE SCHEMA IF NOT EXISTS sluice_bench")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-write-\(rows).txt")
        print("generating \(rows) rows…")
        try Self.psql(["-c", "\\copy (\(Self.generatorSQL(rows))) TO '\(file.path)'"])
        let megabytes = Double((try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0) / 1_048_576
        let messages = Self.messages(rows: rows, batchRows: recordBatchRows)

        _ = try await db.executeScript("DROP TABLE IF EXISTS \(Self.psqlTable); CREATE TABLE \(Self.psqlTable) (\(Self.columns));")
        // Every load starts right after a CHECKPOINT, so none pays for the WAL of the one before.
        _ = try await db.execute("CHECKPOINT")
        let psqlCopy = try Self.timed { try Self.psql(["-c", "\\copy \(Self.psqlTable) FROM '\(file.path)'"]) }
        report("psql COPY FROM STDIN", seconds: psqlCopy, megabytes: megabytes)
        _ = try await db.execute("CHECKPOINT")
        let psqlUpsert = try Self.timed {
            try Self.psql(["-c", "BEGIN", "-c", "CREATE TEMPORARY TABLE s (LIKE \(Self.psqlTable))", "-c", "\\copy s FROM '\(file.path)'",
                           "-c", "INSERT INTO \(Self.psqlTable) SELECT * FROM s ON CONFLICT (id) DO UPDATE SET \(Self.updates)", "-c", "COMMIT"])
        }
        report("psql COPY into a temp table + INSERT … ON CONFLICT (full table)", seconds: psqlUpsert, megabytes: megabytes)

        for (label, method, mode, reference) in [("plugin append, COPY", "copy", "append", psqlCopy),
                                                 ("plugin append, multi-row INSERT", "insert", "append", psqlCopy),
                                                 ("plugin upsert (full table)", "auto", "upsert", psqlUpsert)] {
            if mode == "append" { _ = try await db.execute("DROP TABLE IF EXISTS \(Self.table)") }
            _ = try await db.execute("CHECKPOINT")
            let (seconds, peakKilobytes, written) = try await timePlugin(messages, method: method, mode: mode)
            report(label, seconds: seconds, megabytes: megabytes, reference: reference, peakKilobytes: peakKilobytes, written: written)
        }
        let count = try await db.execute("SELECT count(*) FROM \(Self.table)").rows.first?.first ?? nil
        print("rows in \(Self.table): \(count ?? "?")")
        try? FileManager.default.removeItem(at: file)
    }

    private func report(_ label: String, seconds: Double, megabytes: Double, reference: Double? = nil, peakKilobytes: Int? = nil, written: UInt64? = nil) {
        var line = String(format: "%@: %.2f s, %.0f rows/s, %.1f MB/s", label, seconds, Double(rows) / seconds, megabytes / seconds)
        if let reference { line += String(format: ", ratio %.2f x psql", reference / seconds) }
        if let peakKilobytes { line += String(format: ", plugin peak RSS %.1f MB", Double(peakKilobytes) / 1024) }
        if let written { line += ", rows written \(written)" }
        print(line)
    }

    private func timePlugin(_ messages: [HostMessage], method: String, mode: String) async throws -> (Double, Int, UInt64) {
        let executable = BenchEnvironment.pluginExecutable(plugin)
        let json = try BenchEnvironment.pluginConfigJSON(["schema": "sluice_bench", "batch_size": batchSize, "insert_method": method, "write_mode": mode, "metadata_columns": false])
        let client = try await PluginClient.launch(executable: executable, hello: Hello(hostName: "sluice-bench", hostVersion: "1"))
        let input = AsyncStream<HostMessage> { continuation in
            for message in messages { continuation.yield(message) }
            continuation.finish()
        }
        let start = Date()
        let summary = try await client.write(WriteRequest(configJSON: json, catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: Self.schema)]),
                                                          sourceName: "sluice-bench"), input: input) { _ in }
        let seconds = Date().timeIntervalSince(start)
        let peak = ReadBenchmark.peakRSSKilobytes(pid: client.process.pid)
        await client.close()
        let written = summary.streams.reduce(0) { $0 + $1.inserted + $1.updated }
        return (seconds, peak, written)
    }

    static let schema = StreamSchema(stream: StreamID(name: "write_mixed"), columns: [
        Column(name: "id", type: LogicalType(.int64), nullable: false),
        Column(name: "name", type: LogicalType(.string)),
        Column(name: "amount", type: LogicalType(.decimal, precision: 12, scale: 2)),
        Column(name: "score", type: LogicalType(.float64)),
        Column(name: "active", type: LogicalType(.bool)),
        Column(name: "created_at", type: LogicalType(.timestamptz)),
        Column(name: "payload", type: LogicalType(.json)),
        Column(name: "tags", type: .list(of: .string)),
    ], primaryKey: ["id"])

    /// The same rows as ``messages(rows:batchRows:)``, generated by the server for psql.
    static func generatorSQL(_ rows: Int) -> String {
        "SELECT g, 'name ' || g, ((g % 100000) / 100.0)::numeric(12,2), g * 1.5, g % 2 = 0, "
            + "'2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second', jsonb_build_object('k', g, 'v', 'value ' || g), "
            + "ARRAY['a' || g % 10, 'b' || g % 7] FROM generate_series(1, \(rows)) g"
    }

    /// The schema and record batches of `rows` rows.
    static func messages(rows: Int, batchRows: Int) -> [HostMessage] {
        var messages: [HostMessage] = [.schema(schema)]
        var first = 1
        while first <= rows {
            let last = min(rows, first + batchRows - 1)
            var builders = schema.columns.map { ColumnBuilder(type: $0.type, capacity: last - first + 1) }
            for g in first...last {
                builders[0].append(int64: Int64(g))
                builders[1].append(string: "name \(g)")
                let cents = g % 100000
                builders[2].append(string: "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)")
                builders[3].append(float64: Double(g) * 1.5)
                builders[4].append(bool: g % 2 == 0)
                builders[5].append(int64: 1_704_067_200_000_000 + Int64(g) * 1_000_000)
                builders[6].append(string: "{\"k\": \(g), \"v\": \"value \(g)\"}")
                builders[7].appendList { (child: inout ColumnBuilder) in
                    child.append(string: "a\(g % 10)")
                    child.append(string: "b\(g % 7)")
                }
            }
            messages.append(.records(RecordBatch(stream: schema.stream, rowCount: last - first + 1, columns: builders.map { $0.finish() })))
            first = last + 1
        }
        return messages
    }

    static func timed(_ body: () throws -> Void) throws -> Double {
        let start = Date()
        try body()
        return Date().timeIntervalSince(start)
    }

    static func psql(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"] + arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("psql failed with status \(process.terminationStatus)") }
    }
}
