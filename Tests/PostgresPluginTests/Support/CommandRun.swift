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
///
/// Nothing here blocks a thread of Swift's concurrency pool: on a 2-core machine the pool has
/// two, and a test waiting on a semaphore there holds one for as long as its command runs,
/// stalling the tests beside it (a server's printed port was read after its deadline). The
/// process's end and each pipe's end resume the awaiting tasks instead.
enum CommandRun {
    /// Runs `executable` with `arguments`, feeding it `stdin` (then end of input), and returns
    /// its output and exit code; kills it (SIGKILL) after `timeout` seconds. `environment` entries are
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
        let exited = Latch()
        process.terminationHandler = { _ in exited.open() }
        try process.run()
        let stdoutData = Collected(output.fileHandleForReading)
        let stderrData = Collected(errors.fileHandleForReading)
        let stdinData = Data(stdin.utf8)
        Thread.detachNewThread {
            try? input.fileHandleForWriting.write(contentsOf: stdinData)
            try? input.fileHandleForWriting.close()
        }
        let timedOut = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await exited.wait()
                return false
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(timeout))
                return !Task.isCancelled
            }
            let first = await group.next() ?? false
            if first {
                // SIGKILL: a child may inherit SIGTERM blocked from the thread that started it.
                kill(process.processIdentifier, SIGKILL)
                await exited.wait()
            }
            group.cancelAll()
            return first
        }
        let code = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return CommandResult(stdout: await stdoutData.text(), stderr: await stderrData.text(), exitCode: code, timedOut: timedOut)
    }
}

/// Opens once; tasks awaiting it resume then (at once if it is open already).
private final class Latch: @unchecked Sendable {
    private let lock = NSLock()
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func open() {
        lock.lock()
        isOpen = true
        let resumed = waiters
        waiters = []
        lock.unlock()
        for waiter in resumed { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            lock.lock()
            if isOpen {
                lock.unlock()
                waiter.resume()
            } else {
                waiters.append(waiter)
                lock.unlock()
            }
        }
    }
}

/// Drains a pipe on its own thread so the child never blocks on a full pipe.
private final class Collected: @unchecked Sendable {
    private var data = Data()
    private let done = Latch()

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while let chunk = try? handle.read(upToCount: 65536), !chunk.isEmpty { data.append(chunk) }
            done.open()
        }
    }

    /// Everything read, once the pipe reached end of input.
    func text() async -> String {
        await done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
