import ArgumentParser
import Foundation
import PostgresClient
import SluiceSDK

/// `sluice-bench pipeline`: `plugin-host` end to end, each case against what psql does in the
/// same round (interleaved: psql first in odd rounds, plugin-host first in even ones, each after
/// a CHECKPOINT and `sync`), with every process's CPU time, minor page faults and peak memory.
struct PipelineBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Time plugin-host (pipeline PG → PG append and upsert, read to JSON Lines, write from JSON Lines) against psql in the same run.")

    /// What is measured.
    enum Case: String, ExpressibleByArgument, CaseIterable {
        /// `pipeline` into a fresh table vs psql binary COPY piped into COPY FROM STDIN.
        case append
        /// `pipeline --write-mode upsert` into the full table vs psql piped into a temporary
        /// table, then INSERT … ON CONFLICT.
        case upsert
        /// `read --output` (JSON Lines) vs psql `\copy … TO` CSV.
        case read
        /// `write --input` (JSON Lines) into a fresh table vs psql binary COPY FROM a file.
        case write

        /// The median ratio (psql's seconds / plugin-host's) the project aims at.
        var targetRatio: Double {
            switch self {
            case .append: 0.9
            case .upsert: 0.95
            case .read, .write: 0.8
            }
        }

        /// A PostgreSQL → PostgreSQL pipeline (whose client CPU has a target).
        var isPipeline: Bool { self == .append || self == .upsert }
    }

    /// The targets besides the ratios: client CPU of a pipeline (host and plugins together),
    /// and each of plugin-host's processes' minor page faults and peak memory, in any case.
    enum Target {
        static let pipelineClientMicrosPerRow = 1.5
        static let minorFaultsPerMillionRows = 20_000.0
        static let peakMegabytes = 100.0
    }

    @Option(help: "Rows in the source table (sluice_bench.read_mixed, the read benchmark's table).")
    var rows = 1_000_000

    @Option(help: "Rounds; each runs every case, psql first in odd rounds and plugin-host first in even ones (an even number gives each side the same share).")
    var rounds = 4

    @Option(help: "Cases to run: append, upsert, read, write (repeat the option).")
    var cases: [Case] = [.append, .upsert]

    @Option(help: "Path of the plugin-host executable (default: next to sluice-bench).")
    var host: String?

    @Option(help: "Path of the postgres-plugin executable (default: next to sluice-bench).")
    var plugin: String?

    @Option(help: "Extra source settings, as a JSON object (e.g. '{\"batch_size\": 50000}').")
    var sourceSettings = "{}"

    @Option(help: "Extra destination settings, as a JSON object.")
    var destinationSettings = "{}"

    static let sourceTable = "read_mixed"
    static let destinationSchema = "sluice_bench_dst"
    static let referenceSchema = "sluice_bench_ref"

    mutating func validate() throws {
        guard rows > 0, rounds > 0, !cases.isEmpty else { throw ValidationError("--rows and --rounds must be positive, and give a case") }
    }

    mutating func run() async throws {
        let db = try await PostgresConnection.connect(BenchEnvironment.connection)
        defer { db.close() }
        try await MixedTable.prepare(db, name: Self.sourceTable, rows: rows, primaryKey: true)
        _ = try await db.executeScript("""
            CREATE SCHEMA IF NOT EXISTS \(Self.destinationSchema); CREATE SCHEMA IF NOT EXISTS \(Self.referenceSchema);
            """)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-pipeline-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let runner = try Runner(work: work, host: host, plugin: plugin, sourceSettings: sourceSettings,
                                destinationSettings: destinationSettings, rows: rows)
        print("\(rows) rows of sluice_bench.\(Self.sourceTable), \(rounds) rounds; sluice: plugin-host \(runner.hostPath), plugin \(runner.pluginPath)")

        var ratios: [Case: [Double]] = [:]
        var clientCPU: [Case: [Double]] = [:]
        var worstFaults = 0.0, worstPeak = 0.0
        for round in 1...rounds {
            for benchCase in cases {
                let (reference, sluice) = try await runner.run(benchCase, round: round, db: db)
                let ratio = reference.seconds / sluice.seconds
                ratios[benchCase, default: []].append(ratio)
                clientCPU[benchCase, default: []].append(sluice.cpuMicrosPerRow(rows))
                for process in sluice.processes {
                    worstFaults = max(worstFaults, process.minorFaultsPerMillionRows(rows))
                    worstPeak = max(worstPeak, process.peakMegabytes)
                }
                print(String(format: "%@ round %d: %@ %.2f s, %.0f rows/s | sluice %.2f s, %.0f rows/s | ratio %.2f x",
                             benchCase.rawValue, round, runner.referenceLabel(benchCase), reference.seconds, Double(rows) / reference.seconds,
                             sluice.seconds, Double(rows) / sluice.seconds, ratio))
                for process in reference.processes + sluice.processes { print("    " + process.line(rows: rows)) }
                print(String(format: "    client CPU: psql %.2f µs/row, sluice %.2f µs/row",
                             reference.cpuMicrosPerRow(rows), sluice.cpuMicrosPerRow(rows)))
                if let psql = reference.backends, let ours = sluice.backends {
                    print(String(format: "    server backends' CPU, µs/row: reading psql %.2f, sluice %.2f; writing psql %.2f, sluice %.2f",
                                 psql.reading * 1e6 / Double(rows), ours.reading * 1e6 / Double(rows),
                                 psql.writing * 1e6 / Double(rows), ours.writing * 1e6 / Double(rows)))
                    if let psqlReading = psql.readingWait, let psqlWriting = psql.writingWait,
                       let oursReading = ours.readingWait, let oursWriting = ours.writingWait {
                        print(String(format: "    server backends waiting for a core, µs/row: reading psql %.2f, sluice %.2f; writing psql %.2f, sluice %.2f",
                                     psqlReading * 1e6 / Double(rows), oursReading * 1e6 / Double(rows),
                                     psqlWriting * 1e6 / Double(rows), oursWriting * 1e6 / Double(rows)))
                    }
                    let cores = ProcessInfo.processInfo.activeProcessorCount
                    let best = sluice.fastestPossible(backends: ours, cores: cores)
                    print(String(format: "    every process's CPU: psql %.2f s, sluice %.2f s; on %d cores sluice could take no less than %.2f s (ratio at most %.2f x)",
                                 reference.cpuSeconds + psql.reading + psql.writing, sluice.cpuSeconds + ours.reading + ours.writing,
                                 cores, best, reference.seconds / best))
                }
            }
        }
        print("summary (ratio = psql seconds / sluice seconds, per round; median):")
        for benchCase in cases {
            let values = ratios[benchCase] ?? []
            print(String(format: "  %@: %@; median %.2f x", benchCase.rawValue,
                         values.map { String(format: "%.2f", $0) }.joined(separator: ", "), Self.median(values)))
        }
        print("targets:")
        for benchCase in cases {
            let median = Self.median(ratios[benchCase] ?? [])
            print(String(format: "  %@: median ratio %.2f x, target at least %.2f x: %@", benchCase.rawValue, median,
                         benchCase.targetRatio, Self.verdict(median >= benchCase.targetRatio)))
            if benchCase.isPipeline {
                let cpu = Self.median(clientCPU[benchCase] ?? [])
                print(String(format: "  %@: client CPU (plugin-host and plugins) median %.2f µs/row, target at most %.2f: %@", benchCase.rawValue,
                             cpu, Target.pipelineClientMicrosPerRow, Self.verdict(cpu <= Target.pipelineClientMicrosPerRow)))
            }
        }
        print(String(format: "  minor faults: at most %.0f per 1M rows in any process of plugin-host's, target under %.0f: %@",
                     worstFaults, Target.minorFaultsPerMillionRows, Self.verdict(worstFaults < Target.minorFaultsPerMillionRows)))
        print(String(format: "  peak RSS: at most %.1f MB in any process of plugin-host's, target under %.0f MB: %@",
                     worstPeak, Target.peakMegabytes, Self.verdict(worstPeak < Target.peakMegabytes)))
    }

    /// The median; with an even count (as many rounds started by each side), the middle two's mean.
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted(), middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    static func verdict(_ holds: Bool) -> String { holds ? "holds" : "MISSED" }
}

/// One measured process of a run.
struct MeasuredProcess {
    var label: String
    var cpuSeconds: Double
    var minorFaults: Int
    var contextSwitches: Int
    /// Its peak resident memory (getrusage's, for a process that starts no other).
    var peakKilobytes: Int
    /// Its own peak resident memory, sampled from /proc while it ran.
    var sampledPeakKilobytes: Int

    func line(rows: Int) -> String {
        label.padding(toLength: 22, withPad: " ", startingAt: 0)
            + String(format: " CPU %.2f µs/row, %7.0f minor faults and %6.0f context switches per 1M rows, peak RSS %6.1f MB",
                     cpuSeconds * 1e6 / Double(rows), minorFaultsPerMillionRows(rows), Double(contextSwitches) * 1e6 / Double(rows),
                     peakMegabytes)
    }

    func minorFaultsPerMillionRows(_ rows: Int) -> Double { Double(minorFaults) * 1e6 / Double(rows) }

    var peakMegabytes: Double { Double(peakKilobytes) / 1024 }
}

/// A timed run and its processes.
struct MeasuredRun {
    var seconds: Double
    var processes: [MeasuredProcess]
    /// The server backends' CPU (nil when the server's processes can't be read from here).
    var backends: BackendSampler.Totals?

    /// The CPU seconds of its client processes.
    var cpuSeconds: Double { processes.reduce(0) { $0 + $1.cpuSeconds } }

    func cpuMicrosPerRow(_ rows: Int) -> Double { cpuSeconds * 1e6 / Double(rows) }

    /// The shortest time the run's work allows on `cores` cores, however well scheduled: every
    /// process's CPU (clients and server backends) spread over the cores, and no less than a
    /// backend's own CPU (a backend runs on one core at a time).
    func fastestPossible(backends: BackendSampler.Totals, cores: Int) -> Double {
        max((cpuSeconds + backends.reading + backends.writing) / Double(max(cores, 1)), backends.reading, backends.writing)
    }
}
