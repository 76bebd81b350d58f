import ArgumentParser
import Foundation
import PostgresClient
import SluiceSDK

/// Starts and measures the processes of ``PipelineBenchmark``: psql's, and plugin-host with
/// its plugins, each through `sluice-bench measure`.
struct Runner {
    let work: URL
    let benchPath: String
    let hostPath: String
    let pluginPath: String
    let rows: Int
    private let sourceConfig: URL
    private let destinationConfig: URL
    private let writeConfig: URL

    /// The table psql loads (the reference's copy of the source table).
    static let referenceTable = "\(PipelineBenchmark.referenceSchema).mixed"
    /// Where plugin-host's pipeline writes.
    static let destinationTable = "\(PipelineBenchmark.destinationSchema).\(PipelineBenchmark.sourceTable)"
    /// Where `write --input` writes (a schema of its own, so the pipeline's table stays full).
    static let writeSchema = "sluice_bench_dstw"
    static let sourceQualified = "sluice_bench.\(PipelineBenchmark.sourceTable)"

    init(work: URL, host: String?, plugin: String?, sourceSettings: String, destinationSettings: String, rows: Int) throws {
        self.work = work
        self.rows = rows
        let bench = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        benchPath = bench.path
        hostPath = host.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? bench.deletingLastPathComponent().appendingPathComponent("plugin-host").path
        pluginPath = BenchEnvironment.pluginExecutable(plugin).standardizedFileURL.path
        func settings(_ json: String) throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
                throw ValidationError("settings must be a JSON object: \(json)")
            }
            return object
        }
        let source = try settings(sourceSettings), destination = try settings(destinationSettings)
        sourceConfig = work.appendingPathComponent("source.json")
        destinationConfig = work.appendingPathComponent("destination.json")
        writeConfig = work.appendingPathComponent("write.json")
        try BenchEnvironment.pluginConfigJSON(["schemas": ["sluice_bench"], "tables": [Self.sourceQualified]].merging(source) { $1 })
            .write(to: sourceConfig, atomically: true, encoding: .utf8)
        try BenchEnvironment.pluginConfigJSON(["schema": PipelineBenchmark.destinationSchema].merging(destination) { $1 })
            .write(to: destinationConfig, atomically: true, encoding: .utf8)
        try BenchEnvironment.pluginConfigJSON(["schema": Self.writeSchema].merging(destination) { $1 })
            .write(to: writeConfig, atomically: true, encoding: .utf8)
        for role in ["source", "destination"] {
            let script = work.appendingPathComponent("\(role)-plugin")
            try """
                #!/bin/sh
                exec '\(benchPath)' measure --report "$SLUICE_BENCH_RUN_DIR/\(role)-$$.json" -- '\(pluginPath)' "$@"

                """.write(to: script, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        }
    }

    private var sourcePlugin: String { work.appendingPathComponent("source-plugin").path }
    private var destinationPlugin: String { work.appendingPathComponent("destination-plugin").path }

    func referenceLabel(_ benchCase: PipelineBenchmark.Case) -> String {
        switch benchCase {
        case .append: "psql binary COPY pipe"
        case .upsert: "psql pipe + ON CONFLICT"
        case .read: "psql \\copy TO CSV"
        case .write: "psql binary COPY FROM"
        }
    }

    /// Runs `benchCase` with psql and with plugin-host, each after a CHECKPOINT and `sync`
    /// (``quiesce(_:)``): psql first in odd rounds, plugin-host first in even ones, so that neither
    /// side always follows the other's writes (and the VACUUM after them).
    func run(_ benchCase: PipelineBenchmark.Case, round: Int, db: PostgresConnection) async throws -> (MeasuredRun, MeasuredRun) {
        let name = "bench-\(benchCase.rawValue)-\(getpid())-\(round)"
        let referenceFirst = round % 2 == 1
        switch benchCase {
        case .append:
            let (reference, sluice) = try await inOrder(referenceFirst: referenceFirst, reference: {
                _ = try await db.execute("DROP TABLE IF EXISTS \(Self.referenceTable)")
                try await quiesce(db)
                let run = try await psqlPipe(into: ["-c", "CREATE TABLE \(Self.referenceTable) (\(WriteBenchmark.columns))",
                                                    "-c", "COPY \(Self.referenceTable) FROM STDIN (FORMAT binary)"])
                try await settle([Self.referenceTable], db)
                return run
            }, sluice: {
                _ = try await db.execute("DROP TABLE IF EXISTS \(Self.destinationTable) CASCADE")
                try await quiesce(db)
                let run = try await host(["pipeline", "--source", sourcePlugin, "--source-config", sourceConfig.path,
                                          "--destination", destinationPlugin, "--destination-config", destinationConfig.path, "--name", name])
                try await settle([Self.destinationTable], db)
                return run
            })
            try await expectRows(Self.referenceTable, db)
            try await expectRows(Self.destinationTable, db)
            return (reference, sluice)
        case .upsert:
            try await fill(db, name: name)
            try await settle([Self.referenceTable, Self.destinationTable], db)
            let (reference, sluice) = try await inOrder(referenceFirst: referenceFirst, reference: {
                try await quiesce(db)
                let run = try await psqlPipe(into: [
                    "-c", "BEGIN", "-c", "CREATE TEMPORARY TABLE s (LIKE \(Self.referenceTable))", "-c", "COPY s FROM STDIN (FORMAT binary)",
                    "-c", "INSERT INTO \(Self.referenceTable) SELECT * FROM s ON CONFLICT (id) DO UPDATE SET \(WriteBenchmark.updates)", "-c", "COMMIT",
                ])
                try await settle([Self.referenceTable], db)
                return run
            }, sluice: {
                try await quiesce(db)
                let run = try await host(["pipeline", "--source", sourcePlugin, "--source-config", sourceConfig.path,
                                          "--destination", destinationPlugin, "--destination-config", destinationConfig.path,
                                          "--name", name, "--write-mode", "upsert"])
                try await settle([Self.destinationTable], db)
                return run
            })
            try await expectRows(Self.referenceTable, db)
            try await expectRows(Self.destinationTable, db)
            return (reference, sluice)
        case .read:
            let csv = work.appendingPathComponent("reference.csv")
            // A fresh file for each side: replacing an earlier round's file costs its truncation.
            let output = work.appendingPathComponent("read-output.jsonl")
            let (reference, sluice) = try await inOrder(referenceFirst: referenceFirst, reference: {
                // A checkpoint the cases before left pending would otherwise run during one read only.
                try await quiesce(db)
                return try await measure([("psql \\copy TO CSV", ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                                                                      "\\copy \(Self.sourceQualified) TO '\(csv.path)' CSV"])])
            }, sluice: {
                try await quiesce(db)
                return try await host(["read", "--plugin", sourcePlugin, "--config", sourceConfig.path, "--output", output.path])
            })
            try? FileManager.default.removeItem(at: csv)
            try? FileManager.default.removeItem(at: output)
            return (reference, sluice)
        case .write:
            try await prepareWriteInputs()
            let table = "\(Self.writeSchema).\(PipelineBenchmark.sourceTable)"
            _ = try await db.executeScript("CREATE SCHEMA IF NOT EXISTS \(Self.writeSchema); DROP TABLE IF EXISTS \(table) CASCADE; DROP TABLE IF EXISTS \(Self.referenceTable)_w")
            let (reference, sluice) = try await inOrder(referenceFirst: referenceFirst, reference: {
                try await quiesce(db)
                let run = try await measure([("psql COPY FROM binary", ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                                                        "-c", "CREATE TABLE \(Self.referenceTable)_w (\(WriteBenchmark.columns))",
                                                                        "-c", "\\copy \(Self.referenceTable)_w FROM '\(binaryCopy.path)' (FORMAT binary)"])])
                try await settle(["\(Self.referenceTable)_w"], db)
                return run
            }, sluice: {
                try await quiesce(db)
                let run = try await host(["write", "--plugin", destinationPlugin, "--config", writeConfig.path,
                                          "--catalog", catalog.path, "--input", jsonLines.path])
                try await settle([table], db)
                return run
            })
            try await expectRows("\(Self.referenceTable)_w", db)
            try await expectRows(table, db)
            return (reference, sluice)
        }
    }

    /// Runs the reference and the plugin's side in the order given; returns them in that order.
    private func inOrder(referenceFirst: Bool, reference: () async throws -> MeasuredRun,
                         sluice: () async throws -> MeasuredRun) async throws -> (MeasuredRun, MeasuredRun) {
        if referenceFirst {
            let first = try await reference()
            return (first, try await sluice())
        }
        let first = try await sluice()
        return (try await reference(), first)
    }

    private var jsonLines: URL { work.appendingPathComponent("read.jsonl") }
    private var binaryCopy: URL { work.appendingPathComponent("reference.bin") }
    private var catalog: URL { work.appendingPathComponent("catalog.json") }

    /// The write case's inputs, made once: the JSON Lines `read` writes, psql's binary COPY of
    /// the same table, and the catalog `discover` prints.
    private func prepareWriteInputs() async throws {
        let files = FileManager.default
        if !files.fileExists(atPath: jsonLines.path) {
            _ = try await host(["read", "--plugin", pluginPath, "--config", sourceConfig.path, "--output", jsonLines.path])
        }
        if !files.fileExists(atPath: binaryCopy.path) {
            _ = try await measure([("psql", ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                                             "\\copy \(Self.sourceQualified) TO '\(binaryCopy.path)' (FORMAT binary)"])])
        }
        if !files.fileExists(atPath: catalog.path) {
            _ = try await measure([("discover", [hostPath, "discover", "--plugin", pluginPath, "--config", sourceConfig.path])],
                                  stdout: catalog.path)
        }
    }

    /// Makes both upsert targets hold every row (they do after the append case).
    private func fill(_ db: PostgresConnection, name: String) async throws {
        if try await count(Self.referenceTable, db) != rows {
            _ = try await db.executeScript("""
                DROP TABLE IF EXISTS \(Self.referenceTable); CREATE TABLE \(Self.referenceTable) (\(WriteBenchmark.columns));
                INSERT INTO \(Self.referenceTable) SELECT * FROM \(Self.sourceQualified);
                """)
        }
        if try await count(Self.destinationTable, db) != rows {
            _ = try await host(["pipeline", "--source", pluginPath, "--source-config", sourceConfig.path,
                                "--destination", pluginPath, "--destination-config", destinationConfig.path, "--name", name + "-fill"])
        }
    }

    private func count(_ table: String, _ db: PostgresConnection) async throws -> Int? {
        guard try await db.execute("SELECT to_regclass($1) IS NOT NULL", [.text(table)]).rows.first?.first == "t" else { return nil }
        return try await db.execute("SELECT count(*) FROM \(table)").rows.first?.first.flatMap { $0.flatMap(Int.init) }
    }

    /// A CHECKPOINT, then the kernel's writeback of every dirty page (`sync`), before each
    /// measured run: the server here runs with `fsync` off, so a CHECKPOINT leaves the pages it
    /// wrote dirty in the page cache (1.6–2 GB after a 10M-row load and its VACUUM), and the
    /// kernel would write them back, or hold writers back, during the next run.
    private func quiesce(_ db: PostgresConnection) async throws {
        _ = try await db.execute("CHECKPOINT")
        sync()
    }

    /// `VACUUM (ANALYZE)` of the tables a run just wrote, outside any measured time: a 1M-row
    /// load crosses autovacuum's thresholds, and its worker would otherwise vacuum the table
    /// while a later run is measured.
    private func settle(_ tables: [String], _ db: PostgresConnection) async throws {
        for table in tables { _ = try await db.execute("VACUUM (ANALYZE) \(table)") }
    }

    private func expectRows(_ table: String, _ db: PostgresConnection) async throws {
        let found = try await count(table, db)
        guard found == rows else { throw ValidationError("\(table) holds \(found.map(String.init) ?? "no table") rows, not \(rows)") }
    }

    /// psql's COPY TO STDOUT (binary) piped into a psql running `into`.
    private func psqlPipe(into commands: [String]) async throws -> MeasuredRun {
        let psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        return try await measure([("psql COPY TO STDOUT", psql + ["-c", "COPY \(Self.sourceQualified) TO STDOUT (FORMAT binary)"]),
                                  ("psql COPY FROM STDIN", psql + commands)], piped: true)
    }

    /// plugin-host with `arguments`; its plugins are measured through the wrapper scripts.
    private func host(_ arguments: [String]) async throws -> MeasuredRun {
        let directory = work.appendingPathComponent("run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var run = try await measure([("plugin-host", [hostPath] + arguments + ["--log-level", "warn"])],
                                    environment: ["SLUICE_BENCH_RUN_DIR": directory.path])
        // The host's report counts the plugins (and their wrappers) it waited for: take them out,
        // and take its own peak as sampled (getrusage's is the largest of the whole tree).
        var host = run.processes[0]
        host.peakKilobytes = host.sampledPeakKilobytes
        for role in ["source", "destination"] {
            let reports = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(role + "-") }
                .map { try JSONDecoder().decode(MeasureCommand.Report.self, from: Data(contentsOf: directory.appendingPathComponent($0))) }
            guard !reports.isEmpty else { continue }
            var plugin = MeasuredProcess(label: "\(role) plugin", cpuSeconds: 0, minorFaults: 0, contextSwitches: 0, peakKilobytes: 0, sampledPeakKilobytes: 0)
            for report in reports {
                plugin.cpuSeconds += report.usage.cpuSeconds
                plugin.minorFaults += report.usage.minorFaults
                plugin.contextSwitches += report.usage.contextSwitches
                plugin.peakKilobytes = max(plugin.peakKilobytes, report.usage.maxResidentKilobytes)
                host.cpuSeconds -= report.usage.cpuSeconds + report.wrapper.cpuSeconds
                host.minorFaults -= report.usage.minorFaults + report.wrapper.minorFaults
                host.contextSwitches -= report.usage.contextSwitches + report.wrapper.contextSwitches
            }
            run.processes.append(plugin)
        }
        run.processes[0] = host
        return run
    }

    /// Starts each command through `sluice-bench measure` (piped: the first one's stdout into
    /// the second's stdin), waits for all, and returns the wall time and each one's usage.
    private func measure(_ commands: [(label: String, arguments: [String])], piped: Bool = false,
                         environment: [String: String] = [:], stdout: String? = nil) async throws -> MeasuredRun {
        let null = FileHandle(forWritingAtPath: "/dev/null")!
        let input = FileHandle(forReadingAtPath: "/dev/null")!
        defer { try? null.close(); try? input.close() }
        let output = stdout.map { path -> FileHandle in
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)!
        }
        defer { try? output?.close() }
        let pipe = Pipe()
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        let errors = work.appendingPathComponent("stderr-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let errorLog = FileHandle(forWritingAtPath: errors.path)!
        defer { try? errorLog.close(); try? FileManager.default.removeItem(at: errors) }
        var children: [(ChildProcess, URL)] = []
        let sampler = await BackendSampler.start()
        let start = ContinuousClock.now
        for (index, command) in commands.enumerated() {
            let report = work.appendingPathComponent("report-\(UUID().uuidString).json")
            let stdin = piped && index == 1 ? pipe.fileHandleForReading.fileDescriptor : input.fileDescriptor
            let out = piped && index == 0 ? pipe.fileHandleForWriting.fileDescriptor : (output ?? null).fileDescriptor
            children.append((try ChildProcess(executable: benchPath, arguments: ["measure", "--report", report.path, "--"] + command.arguments,
                                              environment: env, stdin: stdin, stdout: out, stderr: errorLog.fileDescriptor), report))
        }
        try pipe.fileHandleForReading.close()
        try pipe.fileHandleForWriting.close()
        var statuses: [ExitStatus] = []
        for (child, _) in children { statuses.append(await child.waitForExit()) }
        let seconds = Self.seconds(start.duration(to: .now))
        let backends = await sampler?.stop()
        var processes: [MeasuredProcess] = []
        for ((label, arguments), (status, (_, report))) in zip(commands, zip(statuses, children)) {
            guard status == .exited(0) else {
                let log = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
                throw ValidationError("\(arguments.prefix(2).joined(separator: " ")) \(status); its stderr ends:\n\(log.suffix(2000))")
            }
            let result = try JSONDecoder().decode(MeasureCommand.Report.self, from: Data(contentsOf: report))
            try? FileManager.default.removeItem(at: report)
            processes.append(MeasuredProcess(label: label, cpuSeconds: result.usage.cpuSeconds, minorFaults: result.usage.minorFaults,
                                             contextSwitches: result.usage.contextSwitches,
                                             peakKilobytes: result.usage.maxResidentKilobytes, sampledPeakKilobytes: result.sampledPeakKilobytes))
        }
        return MeasuredRun(seconds: seconds, processes: processes, backends: backends)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
