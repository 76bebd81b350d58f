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
        let output = Pipe()
        guard let null = FileHandle(forUpdatingAtPath: "/dev/null") else { throw HostError.spawnFailed("/dev/null cannot be opened") }
        let child: ChildProcess
        do {
            defer { try? null.close() }
            // Started like every plugin: default signal dispositions, none blocked, its own group.
            child = try ChildProcess(executable: target.executable.path, arguments: arguments, stdin: null.fileDescriptor,
                                     stdout: output.fileHandleForWriting.fileDescriptor, stderr: null.fileDescriptor)
        } catch {
            throw HostError.spawnFailed("\(target.executable.path): \(error.localizedDescription)")
        }
        try? output.fileHandleForWriting.close()
        target.reaper.track(child.pid)
        defer { target.reaper.release(child.pid, kill: child.exitStatus == nil) }
        let reading = output.fileHandleForReading
        return try await Deadline.run(seconds: target.timeout) {
            let data = await withCheckedContinuation { continuation in
                // A blocking read, on a thread of its own rather than the cooperative pool.
                Thread.detachNewThread { continuation.resume(returning: reading.readDataToEndOfFile()) }
            }
            return CommandLineRun(stdout: String(decoding: data, as: UTF8.self), status: await child.waitForExit())
        }
    }
}
