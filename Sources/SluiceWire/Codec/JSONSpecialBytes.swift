/// The bytes a JSON string cannot hold as they are (a quote, a backslash, a control byte),
/// found eight at a time: one 64-bit word test per eight bytes (SWAR) where a loop tests each.
public enum JSONSpecialBytes {
    /// The high bit of each byte of `word` (eight bytes, the first in the low bits) that is a
    /// quote, a backslash or below 0x20: zero exactly when no byte is, and exact for the lowest
    /// such byte (a borrow can only mark bytes above a true one).
    @inlinable @inline(__always)
    public static func mask(_ word: UInt64) -> UInt64 {
        zeroBytes(word ^ 0x2222_2222_2222_2222) | zeroBytes(word ^ 0x5C5C_5C5C_5C5C_5C5C)
            | (word &- 0x2020_2020_2020_2020) & ~word & 0x8080_8080_8080_8080
    }

    /// The high bit of each byte of `word` that is 0 (exact for the lowest).
    @usableFromInline @inline(__always)
    static func zeroBytes(_ word: UInt64) -> UInt64 {
        (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
    }

    /// The eight bytes of `bytes` at `offset`, the first in the low bits.
    @inlinable @inline(__always)
    public static func word(_ bytes: Span<UInt8>, at offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.bytes.unsafeLoadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
