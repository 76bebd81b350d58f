#if canImport(Glibc)
import Glibc
#endif

/// How a COPY TO STDOUT waits for the server's rows (``ConnectionHandle/readCopyRows(into:limit:)``).
enum CopyOutWait {
    /// Bytes the socket must hold before a waiting reader wakes (`SO_RCVLOWAT`).
    static let lowWaterBytes: Int32 = 256 << 10
    /// The longest a reader waits for them: then it reads what came (a slow query, the COPY's
    /// last rows and its end, an error).
    static let maxWaitMilliseconds = 2
}

extension ConnectionHandle {
    /// Waits until `socket` is readable (`poll`, which honours `SO_RCVLOWAT`) or `milliseconds`
    /// have passed (negative: no limit); false when polling failed.
    static func waitReadable(_ socket: Int32, milliseconds: Int) -> Bool {
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        while true {
            if poll(&descriptor, 1, Int32(clamping: max(-1, milliseconds))) >= 0 { return true }
            if errno != EINTR { return false }
        }
    }

    /// Sets `socket`'s receive low-water mark; a failure leaves it as it was (waits only wake
    /// more often).
    static func setLowWater(_ socket: Int32, bytes: Int32) {
        var value = bytes
        _ = setsockopt(socket, SOL_SOCKET, SO_RCVLOWAT, &value, socklen_t(MemoryLayout<Int32>.size))
    }
}
