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
        precondition(range.lowerBound >= 0 && range.upperBound <= source.count, "ByteCopy: range past the source")
        source.withUnsafeBufferPointer { bytes in
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
        }
    }

    /// Appends the bytes of `source` to `out` (``RowJoiner/copyBytes(_:_:_:)``: a few bytes
    /// without a call to memcpy(3)).
    public static func append(_ source: Span<UInt8>, to out: inout [UInt8]) {
        guard !source.isEmpty else { return }
        source.withUnsafeBytes { from in
            out.append(addingCapacity: from.count) { span in
                span.withUnsafeMutableBufferPointer { buffer, initialized in
                    guard let base = buffer.baseAddress, let source = from.baseAddress else { return }
                    RowJoiner.copyBytes(base + initialized, source, from.count)
                    initialized += from.count
                }
            }
        }
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
