import Foundation
import PostgresClient
import SluiceTestSupport
import Testing

/// `sluice-bench`, the command that checks the speed targets, still runs end to end: each
/// benchmark on a few thousand rows, in a database of its own, printing its figures and, where
/// it has them, its targets. Nothing here judges a figure (a test must not time anything); it
/// catches a benchmark broken by a change elsewhere (an option renamed, a protocol change).
@Suite(.serialized) struct BenchmarkSmokeTests {
    /// A subcommand, its arguments, the lines its output must hold, and whether it may exit 1
    /// (the in-process codec benchmarks exit 1 when a target is missed, as at these sizes).
    struct Run: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var expected: [String]
        var missedTargetExits = false
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let runs: [Run] = [
        Run(arguments: ["pipeline", "--rows", "2000", "--rounds", "1", "--cases", "append", "--cases", "upsert", "--cases", "read", "--cases", "write"],
            expected: ["append round 1:", "upsert round 1:", "read round 1:", "write round 1:", "targets:",
                       "append: median ratio", "upsert: median ratio", "read: median ratio", "write: median ratio",
                       "client CPU (plugin-host and plugins) median", "minor faults: at most", "peak RSS: at most"]),
        Run(arguments: ["read", "--rows", "2000"], expected: ["psql COPY TO STDOUT:", "plugin, 1 connection(s):", "rows 2000"]),
        Run(arguments: ["write", "--rows", "2000"], expected: ["plugin append, COPY:", "plugin upsert (full table):", "rows written 2000"]),
        Run(arguments: ["streams", "--tables", "3", "--rows", "200", "--rounds", "1"], expected: ["round 1 read:", "round 1 pipeline:", "median ratio"]),
        Run(arguments: ["copy", "--rows", "2000", "--runs", "1"], expected: ["encode (destination):", "decode (source):"]),
        Run(arguments: ["codec", "--rows", "2000", "--runs", "1"], expected: ["encode+frame:", "deframe+decode:"], missedTargetExits: true),
        Run(arguments: ["jsonl", "--rows", "2000", "--runs", "1"], expected: ["render (read --output):", "read (write --input):"], missedTargetExits: true),
    ]

    @Test(arguments: runs)
    func benchmarkRuns(_ run: Run) async throws {
        let admin = try await TestDatabase.connect()
        defer { admin.close() }
        let database = "sluice_bench_smoke_\(UInt32.random(in: 0...UInt32.max))"
        _ = try await admin.execute("CREATE DATABASE \(database)")
        let result: CommandResult
        do {
            result = try await CommandRun.run(Binaries.sluiceBench, run.arguments, environment: ["PGDATABASE": database], timeout: 600)
        } catch {
            _ = try? await admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            throw error
        }
        _ = try await admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        let allowed: Set<Int32> = run.missedTargetExits ? [0, 1] : [0]
        #expect(allowed.contains(result.exitCode), "\(result.stdout)\(result.stderr)")
        for line in run.expected {
            #expect(result.stdout.contains(line), "\(line) missing from: \(result.stdout)\(result.stderr)")
        }
    }
}
