import Foundation
import SluiceSDK

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
/// The command is the SDK's ``ChildProcess``: it starts with no signal blocked or ignored
/// (Foundation's `Process` passes on what the test process blocks), and its end is awaited
/// without holding a thread of Swift's concurrency pool (on a 2-core machine the pool has two;
/// a test waiting on a semaphore there stalled the tests beside it, and a server's printed port
/// was read after its deadline).
enum CommandRun {
    /// Runs `executable` with `arguments`, feeding it `stdin` (then end of input), and returns
    /// its output and exit code; kills it (SIGKILL) after `timeout` seconds. `environment`
    /// entries are added to (or replace) this process's environment.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                    stdin: String = "", timeout: Double = 60) async throws -> CommandResult {
        let input = Pipe(), output = Pipe(), errors = Pipe()
        let process = try ChildProcess(executable: executable.path, arguments: arguments,
                                       environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
                                       stdin: input.fileHandleForReading.fileDescriptor,
                                       stdout: output.fileHandleForWriting.fileDescriptor,
                                       stderr: errors.fileHandleForWriting.fileDescriptor)
        // The child holds its ends now: closing ours lets each pipe end when the child's does.
        try input.fileHandleForReading.close()
        try output.fileHandleForWriting.close()
        try errors.fileHandleForWriting.close()
        let stdoutData = Collected(output.fileHandleForReading)
        let stderrData = Collected(errors.fileHandleForReading)
        let stdinData = Data(stdin.utf8)
        Thread.detachNewThread {
            try? input.fileHandleForWriting.write(contentsOf: stdinData)
            try? input.fileHandleForWriting.close()
        }
        let timedOut = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = await process.waitForExit()
                return false
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(timeout))
                return !Task.isCancelled
            }
            let first = await group.next() ?? false
            // SIGKILL: a command past its time may be hung, deaf to SIGTERM.
            if first { process.send(signal: SIGKILL) }
            group.cancelAll()
            return first
        }
        let code: Int32 = switch await process.waitForExit() {
        case .exited(let code): code
        case .signalled(let signal): 128 + signal
        }
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
