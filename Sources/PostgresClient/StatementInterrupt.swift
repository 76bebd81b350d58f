import Dispatch
import Foundation

/// Cancels one call on a connection once asked to: sends a cancel request (`PQcancel`) at once
/// and again every ``resendInterval`` until the call has ended.
///
/// Resending closes the race in which the first request reaches the server before the statement
/// does (the server drops a cancel request that finds its session idle), and covers calls that
/// run several statements (a COPY and the results after it). A request that arrives once the
/// call has ended finds the session idle and is dropped too, so it cannot hit a later statement.
final class StatementInterrupt: @unchecked Sendable {
    // @unchecked: `requested` and `ended` are guarded by `lock`; `send` is Sendable.
    /// The pause between two cancel requests for the same call.
    static let resendInterval: DispatchTimeInterval = .milliseconds(250)

    private let lock = NSLock()
    private var requested = false
    private var ended = false
    private let send: @Sendable () -> Void

    /// An interrupt that cancels through `send`.
    init(send: @escaping @Sendable () -> Void) {
        self.send = send
    }

    /// Whether a cancel was asked for while the call ran.
    var wasRequested: Bool { lock.withLock { requested } }

    /// Starts cancelling the call (once; later calls do nothing). Callable from any thread; does
    /// not block (the requests are sent from a global queue).
    func request() {
        let start = lock.withLock {
            guard !requested, !ended else { return false }
            requested = true
            return true
        }
        if start { DispatchQueue.global().async { self.resend() } }
    }

    /// The call is over: no more cancel requests.
    func end() {
        lock.withLock { ended = true }
    }

    private func resend() {
        guard !lock.withLock({ ended }) else { return }
        send()
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.resendInterval) { [self] in resend() }
    }
}
