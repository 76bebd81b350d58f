#if canImport(Glibc)
import Glibc
#endif

/// Writing bytes to a file descriptor with write(2), so that a failure keeps its errno (a
/// closed pipe is EPIPE, which Foundation's FileHandle reports only as a generic error).
enum DescriptorWrite {
    /// Writes all of `bytes` to `descriptor`, retrying after EINTR and short writes; nil on
    /// success, else the errno of the failure.
    static func all(_ bytes: [UInt8], to descriptor: Int32) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.write(descriptor, raw.baseAddress.map { $0 + offset }, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return nil
    }
}
