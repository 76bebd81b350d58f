/// A position in PostgreSQL's write-ahead log (`pg_lsn`): a 64-bit byte offset, written as two
/// hexadecimal halves, `16/B374D848`.
public struct LSN: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The offset.
    public let rawValue: UInt64

    /// The position `rawValue`.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// The position `0/0`, before any WAL.
    public static let zero = LSN(rawValue: 0)

    /// Parses the text form `X/Y` (each half 1 to 8 hexadecimal digits); nil otherwise.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2,
              parts.allSatisfy({ (1...8).contains($0.count) && $0.allSatisfy(\.isHexDigit) }),
              let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16) else { return nil }
        self.rawValue = high << 32 | low
    }

    /// The text form PostgreSQL uses, `X/Y` in upper-case hexadecimal.
    public var description: String {
        String(rawValue >> 32, radix: 16, uppercase: true) + "/" + String(rawValue & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    public static func < (lhs: LSN, rhs: LSN) -> Bool { lhs.rawValue < rhs.rawValue }
}
