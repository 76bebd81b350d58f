import ArgumentParser
import Foundation
import SluiceSDK

/// `sluice-bench measure`: runs a command on this process's standard input, output and error,
/// and writes its resource usage (and that of whatever it waited for) as JSON. The pipeline
/// benchmark starts every process it measures through it, plugins included (through a script
/// the host starts as the plugin).
struct MeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Run a command and write its CPU time, minor page faults and peak memory as JSON (used by `pipeline`).")

    /// What `measure` writes.
    struct Report: Codable {
        /// The command's usage, with that of the processes it waited for.
        var usage: ResourceUsage
        /// The largest `VmHWM` of the command's own process, sampled while it ran (it excludes
        /// its children, unlike `usage.maxResidentKilobytes`).
        var sampledPeakKilobytes: Int
        /// This wrapper's own usage.
        var wrapper: ResourceUsage
    }

    /// How often the command's peak memory is sampled.
    static let sampleInterval: useconds_t = 20_000

    @Option(help: "Where to write the JSON report.")
    var report: String

    @Argument(parsing: .captureForPassthrough, help: "The executable (a path, or a name looked up in PATH) and its arguments.")
    var command: [String] = []

    mutating func run() throws {
        if command.first == "--" { command.removeFirst() }
        guard let name = command.first else { throw ValidationError("give the command to run after --") }
        let child = try ChildProcess(executable: Self.resolve(name), arguments: Array(command.dropFirst()), stdin: 0, stdout: 1, stderr: 2)
        var peak = 0
        while child.exitStatus == nil {
            peak = max(peak, ReadBenchmark.peakRSSKilobytes(pid: child.pid))
            usleep(Self.sampleInterval)
        }
        let result = Report(usage: ResourceUsage.children(), sampledPeakKilobytes: peak, wrapper: ResourceUsage.current())
        try JSONEncoder().encode(result).write(to: URL(fileURLWithPath: report))
        switch child.exitStatus {
        case .exited(let code): if code != 0 { throw ExitCode(code) }
        default: throw ExitCode(1)
        }
    }

    /// `name` when it holds a slash, else its first match in PATH.
    static func resolve(_ name: String) -> String {
        guard !name.contains("/") else { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return name
    }
}
