#if canImport(Glibc)
import Glibc
#endif

/// Byte ranges of one array read without slicing it: `append(contentsOf:)` of an `ArraySlice`
/// retained and released the source and went through the generic sequence path (with the copy,
/// about a tenth of the source's perf samples on the benchmark's binary COPY).
public enum ByteCopy {
    /// Appends `source[range]` to `out`. The range must lie within `source` (checked: a range
    /// past it is a programming error and stops the process, as a slice's subscript would).
    @inlinable
    public static func append(_ source: [UInt8], _ range: Range<Int>, to out: inout [UInt8]) {
        append(source.span.extracting(range), to: &out)
    }

    /// Appends the bytes of `source` to `out`, in one block copy.
    @inlinable
    public static func append(_ source: Span<UInt8>, to out: inout [UInt8]) {
        source.withUnsafeBufferPointer { out.append(contentsOf: $0) }
    }

    /// Whether `source[range]` holds a 0 byte (memchr(3)). The range must lie within `source`.
    public static func containsNul(_ source: [UInt8], _ range: Range<Int>) -> Bool {
        precondition(range.lowerBound >= 0 && range.upperBound <= source.count, "ByteCopy: range past the source")
        guard !range.isEmpty else { return false }
        return source.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return false }
            return memchr(base + range.lowerBound, 0, range.count) != nil
        }
    }
}
