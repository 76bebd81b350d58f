import Foundation

/// Reads a file (or stdin, or bytes in memory) line by line, a file in large chunks; each line
/// is a range of ``buffer``, valid until the next call.
final class LineReader {
    /// The bytes read and not yet consumed; lines are ranges of it.
    private(set) var buffer: [UInt8] = []
    /// The number of the line last returned, from 1.
    private(set) var lineNumber = 0
    /// Nil for bytes in memory.
    private let handle: FileHandle?
    private let name: String
    private var start = 0
    private var atEnd = false
    private let maxLineLength: Int
    private static let chunkSize = 1 << 20

    /// Reads `path`; `nil` or `-` is stdin. A line longer than `maxLineLength` bytes stops the
    /// input (it could not fit in any frame, and buffering it would only exhaust memory).
    init(path: String?, maxLineLength: Int = InputLimits.maxLineLength) throws {
        self.maxLineLength = maxLineLength
        guard let path, path != "-" else {
            handle = .standardInput
            name = "stdin"
            return
        }
        guard let opened = FileHandle(forReadingAtPath: path) else {
            throw HostFailure(ExitCodes.config, "cannot read the input file \(path): no such readable file")
        }
        handle = opened
        name = path
    }

    /// Reads the lines of `bytes`.
    init(bytes: [UInt8]) {
        buffer = bytes
        handle = nil
        name = "the input"
        maxLineLength = InputLimits.maxLineLength
    }

    /// The next line (without its `\n` or `\r\n`), or nil at the end of the input; throws
    /// CancellationError when the calling task is cancelled while no input is ready.
    func nextLine() throws -> Range<Int>? {
        var searchFrom = start
        while true {
            if let newline = ByteSearch.firstIndex(of: 0x0A, in: buffer, from: searchFrom) {
                lineNumber += 1
                let line = start..<(newline > start && buffer[newline - 1] == 0x0D ? newline - 1 : newline)
                start = newline + 1
                return line
            }
            guard let handle, !atEnd else {
                guard start < buffer.count else { return nil }
                lineNumber += 1
                defer { start = buffer.count }
                return start..<buffer.count
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            searchFrom = buffer.count
            guard buffer.count <= maxLineLength else {
                throw HostFailure(ExitCodes.config, "input line \(lineNumber + 1) of \(name) is longer than \(maxLineLength) bytes, "
                                  + "the most plugin-host reads as one row")
            }
            // A Write that ended (cancelled, or failed in the destination) stops waiting for
            // input that may never come (a terminal, an idle producer).
            while !DescriptorWait.readable(handle.fileDescriptor, milliseconds: 100) {
                try Task.checkCancellation()
            }
            let chunk = DescriptorRead.once(handle.fileDescriptor, upTo: Self.chunkSize)
            if let code = chunk.errno {
                throw HostFailure(ExitCodes.config, "cannot read \(name): \(ErrorText.posixText(Int(code)))")
            }
            if chunk.bytes.isEmpty {
                atEnd = true
            } else {
                buffer.append(contentsOf: chunk.bytes)
            }
        }
    }
}
