import CLibPQ

/// Owns one `PGcancel`, made once right after connecting, so a running statement can be
/// cancelled from any thread: `PQcancel` only reads the object, which libpq documents as safe
/// while another thread uses the `PGconn`.
final class CancelToken: @unchecked Sendable {
    private let cancel: OpaquePointer

    /// The cancel object of `conn`, or nil when libpq cannot make one. Call on the thread that
    /// uses `conn`.
    init?(_ conn: OpaquePointer) {
        guard let cancel = PQgetCancel(conn) else { return nil }
        self.cancel = cancel
    }

    deinit { PQfreeCancel(cancel) }

    /// Asks the server to cancel whatever the connection runs now; true when the request was sent.
    /// libpq 15 sends it unencrypted (the encrypted cancel API came with libpq 17).
    func send() -> Bool {
        var errorBuffer = [CChar](repeating: 0, count: 256)
        return PQcancel(cancel, &errorBuffer, Int32(errorBuffer.count)) == 1
    }
}
