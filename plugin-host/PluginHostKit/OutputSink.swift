import Foundation

/// Buffered output to stdout or a file; ``flush(durable:)`` makes everything written so far
/// reach the file (and the disk), which is what makes a source state safe to keep.
final class OutputSink {
    /// Bytes not yet written; callers append to it directly.
    var buffer: [UInt8] = []
    private let handle: FileHandle
    private let path: String
    /// Whether the output is a regular file, which a later read can continue (``position``).
    let isRegularFile: Bool
    private let isFile: Bool
    /// Bytes of the output written so far, a continued file's kept bytes included.
    private var written: UInt64 = 0
    private static let flushThreshold = 1 << 20

    /// Where the next byte goes: the bytes written so far plus the buffer's.
    var position: UInt64 { written + UInt64(buffer.count) }

    /// Output to `path`, created or truncated, or, with `continuing`, a regular file cut to that
    /// many bytes and written after them; `nil` or `-` is stdout.
    init(path: String?, continuing: UInt64? = nil) throws {
        buffer.reserveCapacity(Self.flushThreshold + 65536)
        guard let path, path != "-" else {
            handle = .standardOutput
            self.path = "stdout"
            isFile = false
            isRegularFile = false
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
        let attributes = try? manager.attributesOfItem(atPath: path)
        isRegularFile = (attributes?[.type] as? FileAttributeType) == .typeRegular
        if isRegularFile {
            let kept = continuing ?? 0
            let size = (attributes?[.size] as? NSNumber)?.uint64Value ?? 0
            guard size >= kept else {
                try? opened.close()
                throw HostFailure(ExitCodes.config, "the output file \(path) holds \(size) bytes, fewer than the \(kept) that the state file says an earlier read wrote there: restore that file, or clear the state file's states (plugin-host state clear) to read again from the start")
            }
            do {
                try opened.truncate(atOffset: kept)
                try opened.seekToEnd()
            } catch {
                throw HostFailure(ExitCodes.ioError, "cannot truncate the output file \(path): \(ErrorText.describe(error))")
            }
            written = kept
        }
        handle = opened
        self.path = path
        isFile = true
    }

    /// Writes the buffer out once it is large.
    func flushIfLarge() throws {
        if buffer.count >= Self.flushThreshold { try flush(durable: false) }
    }

    /// Writes the buffer out; with `durable`, also syncs a file to disk. Throws ``OutputClosed``
    /// when stdout is a pipe whose reader has gone (`read | head -1`).
    func flush(durable: Bool) throws {
        if !buffer.isEmpty {
            if let code = DescriptorWrite.all(buffer, to: handle.fileDescriptor) {
                if code == EPIPE, !isFile { throw OutputClosed() }
                throw HostFailure(ExitCodes.ioError, "cannot write to \(path): \(ErrorText.posixText(Int(code)))")
            }
            written += UInt64(buffer.count)
            buffer.removeAll(keepingCapacity: true)
        }
        do {
            if durable, isFile { try handle.synchronize() }
        } catch {
            throw HostFailure(ExitCodes.ioError, "cannot write to \(path): \(ErrorText.describe(error))")
        }
    }

    /// Flushes and closes a file (stdout stays open).
    func close() throws {
        try flush(durable: true)
        if isFile { try? handle.close() }
    }
}

/// stdout was a pipe and its reader closed it: the command ends quietly, like a filter whose
/// reader has all it wanted.
struct OutputClosed: Error {}
