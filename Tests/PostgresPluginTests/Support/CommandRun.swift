import Foundation

/// What a finished command printed and how it ended.
struct CommandResult: Sendable {
    /// Everything written to stdout.
    var stdout: String
    /// Everything written to stderr.
    var stderr: String
    /// The exit code (128 + signal number when it was killed by a signal).
    var exitCode: Int32
    /// Whether it was killed for running past its timeout.
    var timedOut: Bool
}

/// Runs executables to completion, capturing their output.
enum CommandRun {
    /// Runs `executable` with `arguments`, feeding it `stdin` (then end of input), and returns
    /// its output and exit code; kills it after `timeout` seconds. `environment` entries are
    /// added to (or replace) this process's environment.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                    stdin: String = "", timeout: Double = 60) async throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        let stdoutData = Collected(output.fileHandleForReading)
        let stderrData = Collected(errors.fileHandleForReading)
        let stdinData = Data(stdin.utf8)
        Thread.detachNewThread {
            try? input.fileHandleForWriting.write(contentsOf: stdinData)
            try? input.fileHandleForWriting.close()
        }
        let timedOut = await Task.detached {
            if finished.wait(timeout: .now() + timeout) == .timedOut {
                process.terminate()
                finished.wait()
                return true
            }
            return false
        }.value
        let code = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return CommandResult(stdout: stdoutData.text(), stderr: stderrData.text(), exitCode: code, timedOut: timedOut)
    }
}

/// Drains a pipe on its own thread so the child never blocks on a full pipe.
private final class Collected: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while let chunk = try? handle.read(upToCount: 65536), !chunk.isEmpty { data.append(chunk) }
            done.signal()
        }
    }

    /// Everything read, once the pipe reached end of input.
    func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
