public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a plugin process ended.
public enum ExitStatus: Sendable, Hashable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .signalled(let signal): "was killed by signal \(signal)\(Self.signalName(signal).map { " (\($0))" } ?? "")"
        }
    }

    private static func signalName(_ signal: Int32) -> String? {
        switch signal {
        case SIGKILL: "SIGKILL"
        case SIGTERM: "SIGTERM"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGINT: "SIGINT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        default: nil
        }
    }
}

/// A spawned plugin: its pipes, its stderr (kept as a bounded tail, optionally echoed), and
/// its exit status. It starts as a ``ChildProcess``: default signal dispositions, no signal
/// blocked, no descriptor but its three pipes.
public final class PluginProcess: @unchecked Sendable {
    private let child: ChildProcess
    /// Frames to the plugin.
    let stdinHandle: FileHandle
    /// Frames from the plugin.
    let stdoutHandle: FileHandle
    private let stderrTail = StderrTail(limit: 16 * 1024)
    private let stderrEnded = LockedBox(false)

    /// Starts `executable` with `arguments`; `echoStderr` copies its stderr to ours as it comes.
    public init(executable: URL, arguments: [String] = [], environment: [String: String]? = nil, echoStderr: Bool = false) throws {
        signal(SIGPIPE, SIG_IGN)
        // A host moves every batch through its own buffers too.
        ProcessMemory.retainFreedMemory()
        let stdinPipe = Pipe(), stdoutPipe = Pipe(), stderrPipe = Pipe()
        PipeCapacity.enlarge(stdinPipe.fileHandleForWriting.fileDescriptor)
        PipeCapacity.enlarge(stdoutPipe.fileHandleForReading.fileDescriptor)
        child = try ChildProcess(executable: executable.path, arguments: arguments, environment: environment,
                                 stdin: stdinPipe.fileHandleForReading.fileDescriptor,
                                 stdout: stdoutPipe.fileHandleForWriting.fileDescriptor,
                                 stderr: stderrPipe.fileHandleForWriting.fileDescriptor)
        // The child's ends: only the child may hold them, or no side ever sees end of input.
        try? stdinPipe.fileHandleForReading.close()
        try? stdoutPipe.fileHandleForWriting.close()
        try? stderrPipe.fileHandleForWriting.close()
        stdinHandle = stdinPipe.fileHandleForWriting
        stdoutHandle = stdoutPipe.fileHandleForReading
        let tail = stderrTail
        let ended = stderrEnded
        let errorHandle = stderrPipe.fileHandleForReading
        let thread = Thread {
            var reader = DescriptorReader(descriptor: errorHandle.fileDescriptor, chunkSize: 64 * 1024)
            while let bytes = try? reader.read(), !bytes.isEmpty {
                let data = Data(bytes)
                tail.append(data)
                if echoStderr { FileHandle.standardError.write(data) }
            }
            ended.value = true
        }
        thread.name = "sluice.host.stderr"
        thread.start()
    }

    /// The operating system's process id.
    public var pid: Int32 { child.pid }

    /// The last 16 KiB the plugin wrote to stderr.
    public var stderr: String { stderrTail.text }

    /// The exit status once the process ended, else `nil`.
    public var exitStatus: ExitStatus? { child.exitStatus }

    /// Waits for the process to end.
    public func waitForExit() async -> ExitStatus {
        await child.waitForExit()
    }

    /// Waits up to `seconds` for the process to end.
    public func waitForExit(timeout seconds: Double) async -> ExitStatus? {
        let child = self.child
        _ = await ShortPoll.wait(upTo: seconds) { child.exitStatus != nil }
        return child.exitStatus
    }

    /// Waits up to `seconds` for the plugin's stderr to reach its end, so that ``stderr`` holds
    /// everything it wrote (the pipe is read on another thread, which may lag behind the exit).
    /// Returns whether it did.
    @discardableResult
    public func waitForStderrEnd(timeout seconds: Double) async -> Bool {
        let ended = stderrEnded
        return await ShortPoll.wait(upTo: seconds) { ended.value }
    }

    /// The bytes sent to the plugin's stdin that it has not read yet (nil when the system cannot
    /// tell): a plugin that stopped reading its input keeps them there.
    public var unreadInputBytes: Int? { PipeCapacity.unreadBytes(stdinHandle.fileDescriptor) }

    /// Closes the plugin's stdin: a clean end of input.
    public func closeInput() {
        try? stdinHandle.close()
    }

    /// Sends a signal (SIGTERM to ask it to stop, SIGKILL to kill it), unless the process has
    /// ended and been reaped (its pid may belong to another process by then).
    public func send(signal number: Int32) {
        child.send(signal: number)
    }
}

/// The bounded tail of a stream of bytes.
private final class StderrTail: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = Data()
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func append(_ data: Data) {
        lock.withLock {
            bytes.append(data)
            if bytes.count > limit { bytes.removeFirst(bytes.count - limit) }
        }
    }

    var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
}
