import CLibPQ
import Foundation

/// Routes a connection's server notices to a Swift closure instead of stderr.
///
/// The `PGconn` holds an unretained pointer to the relay as its notice processor argument, so
/// whoever owns the `PGconn` must keep the relay alive until `PQfinish` has returned
/// (``ConnectionHandle`` does, by holding it in a stored property released after `PQfinish`).
final class NoticeRelay: Sendable {
    private let lock = NSLock()
    nonisolated(unsafe) private var storedHandler: (@Sendable (String) -> Void)?
    nonisolated(unsafe) private var storedSecrets: [String] = []

    /// The closure that receives each notice; nil drops notices.
    var handler: (@Sendable (String) -> Void)? {
        get { lock.withLock { storedHandler } }
        set { lock.withLock { storedHandler = newValue } }
    }

    /// Secrets removed from every notice before it is delivered.
    var secrets: [String] {
        get { lock.withLock { storedSecrets } }
        set { lock.withLock { storedSecrets = newValue } }
    }

    /// Makes this relay the notice processor of `conn`.
    func install(on conn: OpaquePointer) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = PQsetNoticeProcessor(conn, { context, message in
            guard let context, let message else { return }
            Unmanaged<NoticeRelay>.fromOpaque(context).takeUnretainedValue().deliver(String(cString: message))
        }, context)
    }

    /// Hands one notice, without its trailing newline and scrubbed, to the handler.
    private func deliver(_ message: String) {
        let (handler, secrets) = lock.withLock { (storedHandler, storedSecrets) }
        guard let handler else { return }
        handler(Redaction.scrub(message.withoutTrailingNewlines, secrets))
    }
}
