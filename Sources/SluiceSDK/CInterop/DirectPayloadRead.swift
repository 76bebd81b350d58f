#if canImport(Glibc)
import Glibc
#endif
import SluiceWire

extension DescriptorReader {
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
                let count = Glibc.read(descriptor, base + filled, frame.length - filled)
                if count > 0 {
                    filled += count
                } else if count == 0 {
                    break
                } else if errno != EINTR {
                    failure = TransportError("reading descriptor \(descriptor) failed: errno \(errno)")
                    break
                }
            }
            initialized = filled
        }
        if let failure { throw failure }
        return payload
    }
}
