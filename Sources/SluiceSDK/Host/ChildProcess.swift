public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with a clean signal state, and reaped by a thread of its own.
///
/// The child starts with every signal at its default disposition and none blocked, whatever
/// this process ignores or blocks (the SDK ignores SIGTERM and SIGINT to handle them through
/// Dispatch, whose threads block most signals; both would otherwise leak through exec). Its
/// standard input, output and error are the given descriptors and it inherits no other. It
/// leads a process group of its own, as with Foundation's `Process`.
///
/// ``send(signal:)`` never signals a reused pid: the reaper thread waits for the exit without
/// reaping (`waitid` with `WNOWAIT`), then marks the child gone and reaps it under the same
/// lock that ``send(signal:)`` holds while it signals.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `reaped` and `status` are guarded by `lock`; the rest is immutable.
    /// The operating system's process id.
    public let pid: Int32
    private let lock = NSLock()
    private var reaped = false
    private var status: ExitStatus?
    private let exited = DispatchSemaphore(value: 0)

    /// Starts `executable` with `arguments` and `environment` (nil: this process's), its
    /// standard input, output and error on `stdin`, `stdout` and `stderr`.
    public init(executable: String, arguments: [String] = [], environment: [String: String]? = nil,
                stdin: Int32, stdout: Int32, stderr: Int32) throws(SpawnError) {
        pid = try Spawn.start(executable, arguments: arguments, environment: environment, stdio: (stdin, stdout, stderr)).get()
        let thread = Thread { [self] in reap() }
        thread.name = "sluice.child.reaper"
        thread.start()
    }

    /// The exit status once the process ended, else `nil`.
    public var exitStatus: ExitStatus? { lock.withLock { status } }

    /// Waits for the process to end.
    public func waitForExit() async -> ExitStatus {
        if let status = exitStatus { return status }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.exited.wait()
                self.exited.signal()
                continuation.resume()
            }
        }
        return exitStatus ?? .exited(-1)
    }

    /// Sends `number` to the process unless it has been reaped (its pid may then belong to
    /// another process); returns whether the signal was sent.
    @discardableResult
    public func send(signal number: Int32) -> Bool {
        lock.withLock { !reaped && kill(pid, number) == 0 }
    }

    /// Waits for the exit without reaping, then reaps under the lock.
    private func reap() {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
        lock.withLock {
            reaped = true
            var raw: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &raw, 0) } while result == -1 && errno == EINTR
            // Bits 0-6: the signal that killed it (0 when it exited); bits 8-15: the exit code.
            status = result == -1 ? .exited(-1) : raw & 0x7f == 0 ? .exited((raw >> 8) & 0xff) : .signalled(raw & 0x7f)
        }
        exited.signal()
    }
}

/// A process could not be started.
public struct SpawnError: Error, Sendable, LocalizedError, CustomStringConvertible {
    /// The executable.
    public var path: String
    /// The errno value.
    public var code: Int32

    /// `strerror`'s text for ``code``.
    public var description: String { String(cString: strerror(code)) }
    public var errorDescription: String? { description }
}
