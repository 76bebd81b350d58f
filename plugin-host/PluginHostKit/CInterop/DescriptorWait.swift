#if canImport(Glibc)
import Glibc
#endif

/// Waiting for input on a file descriptor with poll(2), so that a read from a pipe or a
/// terminal can give up when its task is cancelled instead of blocking until input arrives.
enum DescriptorWait {
    /// Whether `descriptor` has input (or an end or error a read will report) within
    /// `milliseconds`; false when the time passed or a signal interrupted the wait.
    static func readable(_ descriptor: Int32, milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }
}

/// Reading a file descriptor with read(2): whatever is there, without waiting to fill a
/// buffer (Foundation's `FileHandle.read(upToCount:)` keeps reading a pipe until it has that
/// many bytes or the input ends).
enum DescriptorRead {
    /// One read of at most `count` bytes (retried after EINTR): the bytes, empty at the end of
    /// the input; nil and the errno on failure.
    static func once(_ descriptor: Int32, upTo count: Int) -> (bytes: [UInt8], errno: Int32?) {
        var bytes = [UInt8](repeating: 0, count: count)
        while true {
            let read = bytes.withUnsafeMutableBytes { raw in Glibc.read(descriptor, raw.baseAddress, raw.count) }
            if read >= 0 {
                bytes.removeSubrange(read...)
                return (bytes, nil)
            }
            if errno != EINTR { return ([], errno) }
        }
    }
}
