import Foundation
import SluiceSDK

/// The plugin executable run as a person runs it (§1.3): with arguments and no input, its
/// stdout captured, until it exits.
struct CommandLineRun: Sendable {
    /// What it printed on stdout.
    var stdout: String
    var status: ExitStatus

    /// Runs `executable` with `arguments`; after `target.timeout` seconds it is killed (with
    /// what it started) and ``Deadline/Expired`` is thrown.
    static func run(_ arguments: [String], of target: ConformanceTarget) async throws -> CommandLineRun {
        let process = Process()
        process.executableURL = target.executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            throw HostError.spawnFailed("\(target.executable.path): \(error.localizedDescription)")
        }
        target.reaper.track(process.processIdentifier)
        defer { target.reaper.release(process.processIdentifier, kill: process.isRunning) }
        let reading = output.fileHandleForReading
        return try await Deadline.run(seconds: target.timeout) {
            await withCheckedContinuation { continuation in
                // Blocking reads and waits, on a thread of their own rather than the cooperative pool.
                Thread.detachNewThread {
                    let data = reading.readDataToEndOfFile()
                    exited.wait()
                    let status: ExitStatus = process.terminationReason == .uncaughtSignal
                        ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
                    continuation.resume(returning: CommandLineRun(stdout: String(decoding: data, as: UTF8.self), status: status))
                }
            }
        }
    }
}
