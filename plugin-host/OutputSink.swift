import Foundation

/// Buffered output to stdout or a file; ``flush(durable:)`` makes everything written so far
/// reach the file (and the disk), which is what makes a source state safe to keep.
final class OutputSink {
    /// Bytes not yet written; callers append to it directly.
    var buffer: [UInt8] = []
    private let handle: FileHandle
    private let path: String
    private let isFile: Bool
    private static let flushThreshold = 1 << 20

    /// Output to `path`, created or truncated; `nil` or `-` is stdout.
    init(path: String?) throws {
        buffer.reserveCapacity(Self.flushThreshold + 65536)
        guard let path, path != "-" else {
            handle = .standardOutput
            self.path = "stdout"
            isFile = false
            return
        }
        guard FileManager.default.createFile(atPath: path, contents: nil), let opened = FileHandle(forWritingAtPath: path) else {
            throw HostFailure(ExitCodes.ioError, "cannot create the output file \(path)")
        }
        handle = opened
        self.path = path
        isFile = true
    }

    /// Writes the buffer out once it is large.
    func flushIfLarge() throws {
        if buffer.count >= Self.flushThreshold { try flush(durable: false) }
    }

    /// Writes the buffer out; with `durable`, also syncs a file to disk.
    func flush(durable: Bool) throws {
        do {
            if !buffer.isEmpty {
                try handle.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
            if durable, isFile { try handle.synchronize() }
        } catch {
            throw HostFailure(ExitCodes.ioError, "cannot write to \(path): \(error.localizedDescription)")
        }
    }

    /// Flushes and closes a file (stdout stays open).
    func close() throws {
        try flush(durable: true)
        if isFile { try? handle.close() }
    }
}
