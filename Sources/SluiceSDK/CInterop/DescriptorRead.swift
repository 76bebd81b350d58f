#if canImport(Glibc)
import Glibc
#endif
import SluiceWire

extension DescriptorReader {
    /// One `read(2)` of up to `count` bytes into `destination`, repeated when a signal
    /// interrupts it; 0 at end of input.
    static func read(_ descriptor: Int32, into destination: UnsafeMutableRawPointer, count: Int) throws(TransportError) -> Int {
        while true {
            let read = Glibc.read(descriptor, destination, count)
            if read >= 0 { return read }
            if errno == EINTR { continue }
            throw TransportError("reading descriptor \(descriptor) failed: errno \(errno)")
        }
    }

    /// The whole payload of `frame`: its prefix, then the rest read from the descriptor straight
    /// into the new array (no buffer in between, no zero-filling first). Shorter than
    /// `frame.length` when the input ended first.
    func readRest(of frame: IncompleteFrame) throws(TransportError) -> [UInt8] {
        var failure: TransportError?
        let payload = [UInt8](unsafeUninitializedCapacity: frame.length) { storage, initialized in
            guard let base = storage.baseAddress else { return }
            frame.prefix.withUnsafeBufferPointer { prefix in
                if let start = prefix.baseAddress { base.initialize(from: start, count: prefix.count) }
            }
            var filled = frame.prefix.count
            while filled < frame.length {
                do throws(TransportError) {
                    let count = try Self.read(descriptor, into: base + filled, count: frame.length - filled)
                    guard count > 0 else { break }
                    filled += count
                } catch {
                    failure = error
                    break
                }
            }
            initialized = filled
        }
        if let failure { throw failure }
        return payload
    }
}
