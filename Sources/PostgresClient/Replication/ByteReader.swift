/// Reads big-endian integers, NUL-terminated strings and byte runs from a message, checking
/// every length against what is left: a short or malformed message throws, never traps.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset: Int

    /// A reader at the start of `bytes`.
    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    /// Bytes not read yet.
    var remaining: Int { bytes.count - offset }

    /// Fails unless every byte was read.
    func expectEnd(_ what: String) throws(ReplicationDecodingError) {
        guard remaining == 0 else { throw ReplicationDecodingError("\(what) has \(remaining) unexpected trailing bytes") }
    }

    mutating func uint8(_ what: String) throws(ReplicationDecodingError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated(what) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func uint16(_ what: String) throws(ReplicationDecodingError) -> UInt16 {
        UInt16(truncatingIfNeeded: try integer(2, what))
    }

    mutating func uint32(_ what: String) throws(ReplicationDecodingError) -> UInt32 {
        UInt32(truncatingIfNeeded: try integer(4, what))
    }

    mutating func uint64(_ what: String) throws(ReplicationDecodingError) -> UInt64 {
        try integer(8, what)
    }

    /// A signed 32-bit length that must lie in 0...remaining.
    mutating func length(_ what: String) throws(ReplicationDecodingError) -> Int {
        let value = Int(Int32(bitPattern: try uint32(what)))
        guard value >= 0 else { throw ReplicationDecodingError("\(what) is negative (\(value))") }
        guard value <= remaining else { throw .truncated(what) }
        return value
    }

    /// `count` bytes.
    mutating func bytes(_ count: Int, _ what: String) throws(ReplicationDecodingError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw .truncated(what) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A NUL-terminated string, which must be valid UTF-8.
    mutating func string(_ what: String) throws(ReplicationDecodingError) -> String {
        guard let end = bytes[offset...].firstIndex(of: 0) else { throw ReplicationDecodingError("\(what) has no terminating NUL") }
        let slice = bytes[offset..<end]
        guard let text = String(validating: slice, as: UTF8.self) else { throw ReplicationDecodingError("\(what) is not valid UTF-8") }
        offset = end + 1
        return text
    }

    private mutating func integer(_ size: Int, _ what: String) throws(ReplicationDecodingError) -> UInt64 {
        guard remaining >= size else { throw .truncated(what) }
        var value: UInt64 = 0
        for index in offset..<offset + size { value = value << 8 | UInt64(bytes[index]) }
        offset += size
        return value
    }
}

/// A replication or pgoutput message that does not follow the protocol: too short, a length
/// out of range, an unknown tag, text that is not UTF-8.
public struct ReplicationDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, naming the field.
    public let message: String

    init(_ message: String) {
        self.message = message
    }

    static func truncated(_ what: String) -> ReplicationDecodingError {
        ReplicationDecodingError("the message ends inside \(what)")
    }

    public var description: String { message }
}
