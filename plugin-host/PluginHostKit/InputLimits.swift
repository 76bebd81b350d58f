import Foundation

/// Limits on everything plugin-host reads (configuration, pipeline, catalog and state files,
/// JSON Lines input), so that a hostile file is refused with a clear error naming it instead of
/// overflowing the stack or exhausting memory.
enum InputLimits {
    /// The deepest nesting of arrays and objects (YAML sequences and mappings).
    static let maxDepth = 512
    /// The largest configuration, pipeline, catalog or state file, in bytes.
    static let maxFileSize = 8 << 20
    /// The longest JSON Lines line, in bytes: far more than any row that fits a frame needs
    /// (JSON text is larger than the row's encoding, by a factor of about six at worst).
    static let maxLineLength = 1 << 30
    /// The most values (collections and scalars) a YAML document may expand to, counting
    /// each alias as a full copy of its anchor.
    static let maxYAMLNodes = 100_000
    /// The most scalar bytes a YAML document may expand to, aliases counted as copies.
    static let maxYAMLScalarBytes = 64 << 20

    /// Why a file could not be read within the limits.
    enum ReadProblem: Error {
        case unreadable
        case tooLarge
    }

    /// The bytes of the file at `path`, read only up to ``maxFileSize`` (devices and pipes too).
    static func contents(of path: String) throws(ReadProblem) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable }
        defer { try? handle.close() }
        let data: Data?
        do {
            data = try handle.read(upToCount: maxFileSize + 1)
        } catch {
            throw .unreadable
        }
        let bytes = data.map(Array.init) ?? []
        guard bytes.count <= maxFileSize else { throw .tooLarge }
        return bytes
    }

    /// The message for a file over ``maxFileSize``.
    static func tooLargeMessage(_ what: String, _ path: String) -> String {
        "the \(what) file \(path) is larger than \(maxFileSize >> 20) MiB, the most plugin-host reads"
    }
}
