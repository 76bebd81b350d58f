import ArgumentParser
import Foundation
import SluiceSDK
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock held for the rest of the process (released by the kernel however the
/// process ends, SIGKILL included), so that two runs on one state file or pipeline file
/// cannot run at once: `flock` on `<state file>.lock` (the state file itself is replaced by a
/// rename on every save, so it cannot carry the lock) and on the pipeline file.
enum RunLock {
    /// The open, locked descriptors; never closed (closing would release the lock).
    private static let held = LockedBox<[Int32]>([])

    /// Locks the pipeline file and the state file given (either may be nil); on failure prints
    /// why and ends the command with its exit code.
    static func acquireOrExit(pipelineFile: String? = nil, stateFile: String?) throws {
        do {
            if let pipelineFile { try acquire(pipelineFile: pipelineFile) }
            if let stateFile { try acquire(stateFile: stateFile) }
        } catch let failure as HostFailure {
            Diagnostics.line("plugin-host: \(failure.message)")
            throw ExitCode(failure.exitCode)
        }
    }

    /// Locks `path` (a pipeline file, opened read-only) or, for a state file, `path + ".lock"`
    /// (created when missing, holding the pid of the run that holds it). Fails at once with
    /// ``ExitCodes/alreadyRunning`` when another process holds it.
    static func acquire(stateFile path: String) throws {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw HostFailure(ExitCodes.ioError, "cannot create the lock file \(lockPath) next to the state file: \(String(cString: strerror(errno)))")
        }
        try lock(fd, what: "the state file \(path)", holder: { holder(in: lockPath) })
        _ = ftruncate(fd, 0)
        try? FileHandle(fileDescriptor: fd, closeOnDealloc: false).write(contentsOf: Data("\(getpid())\n".utf8))
    }

    /// Locks the pipeline file at `path`.
    static func acquire(pipelineFile path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        // An unreadable file is reported by the pipeline file's reader.
        guard fd >= 0 else { return }
        try lock(fd, what: "the pipeline file \(path)", holder: { nil })
    }

    private static func lock(_ fd: Int32, what: String, holder: () -> String?) throws {
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            close(fd)
            guard busy else { throw HostFailure(ExitCodes.ioError, "cannot lock \(what): \(String(cString: strerror(errno)))") }
            throw HostFailure(ExitCodes.alreadyRunning,
                              "already running: another run holds \(what)\(holder().map { " (pid \($0))" } ?? ""); wait for it to finish")
        }
        held.withLock { $0.append(fd) }
    }

    /// The pid written in a lock file, if any.
    private static func holder(in lockPath: String) -> String? {
        guard let data = FileManager.default.contents(atPath: lockPath) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty || !text.allSatisfy(\.isNumber) ? nil : text
    }
}
