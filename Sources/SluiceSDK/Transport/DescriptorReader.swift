#if canImport(Glibc)
import Glibc
#endif

/// Blocking reads of whatever is available on a file descriptor. (Foundation's
/// `FileHandle.read(upToCount:)` waits until the whole count or end of input arrives, which a
/// request/response protocol cannot afford.)
struct DescriptorReader {
    let descriptor: Int32
    private var buffer: [UInt8]

    init(descriptor: Int32, chunkSize: Int) {
        self.descriptor = descriptor
        self.buffer = [UInt8](repeating: 0, count: chunkSize)
    }

    /// The next bytes available (waiting for at least one); empty at end of input.
    mutating func read() throws(TransportError) -> ArraySlice<UInt8> {
        let count = try Self.read(descriptor, into: &buffer, count: buffer.count)
        return buffer[0..<count]
    }
}
