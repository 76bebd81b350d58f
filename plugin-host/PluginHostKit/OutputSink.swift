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
        // Never FileManager.createFile on an existing path: it writes a temporary file and renames
        // it over the path, which would replace a device such as /dev/null with a regular file.
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            guard manager.createFile(atPath: path, contents: nil) else {
                throw HostFailure(ExitCodes.ioError, "cannot create the output file \(path)")
            }
        }
        guard let opened = FileHandle(forWritingAtPath: path) else {
            throw HostFailure(ExitCodes.ioError, "cannot open the output file \(path)")
        }
        if (try? manager.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular {
            do {
                try opened.truncate(atOffset: 0)
            } catch {
                throw HostFailure(ExitCodes.ioError, "cannot truncate the output file \(path): \(error.localizedDescription)")
            }
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
