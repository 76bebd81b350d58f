import SluiceSDK
import SluiceWire

/// When and why a pipeline stops. The first failure (or an interrupt) stops the forwarding and
/// asks every plugin to cancel its running call; the `CANCELLED` errors that follow are the
/// expected answers, not failures.
final class PipelineControl: Sendable {
    private struct Status {
        /// The first failure, which sets the exit code.
        var failure: HostFailure?
        var interrupted = false
        /// Participants whose failure was reported (a second one from the same is not).
        var failed: Set<String> = []

        var stopped: Bool { failure != nil || interrupted }
    }

    private let status = LockedBox(Status())
    private let clients: [PluginClient]

    /// Controls the calls of `clients` (the source and every destination).
    init(clients: [PluginClient]) {
        self.clients = clients
    }

    /// Whether the pipeline stopped (forwarding ends; running calls are being cancelled).
    var isStopped: Bool { status.withLock { $0.stopped } }

    /// Whether SIGINT or SIGTERM arrived.
    var interrupted: Bool { status.withLock { $0.interrupted } }

    /// The first failure, if any.
    var failure: HostFailure? { status.withLock { $0.failure } }

    /// Records an interrupt (the ``InterruptHandler`` asks the plugins to cancel).
    func interrupt() {
        status.withLock { $0.interrupted = true }
    }

    /// Reports a failure of `origin` (`source`, `destination 2`, or `nil` for the host itself)
    /// on stderr; the first failure stops the pipeline and cancels every running call.
    func fail(_ error: any Error, origin: String?, stderr: String?) {
        if case HostError.plugin(let pluginError) = error, pluginError.category == .cancelled, isStopped { return }
        var failure = PluginSession.failure(for: error, stderr: stderr)
        if let origin { failure.message = "\(origin): \(failure.message)" }
        let stopsNow = status.withLock { status -> Bool? in
            guard status.failed.insert(origin ?? "").inserted else { return nil }
            let wasStopped = status.stopped
            if status.failure == nil { status.failure = failure }
            return !wasStopped
        }
        guard let stopsNow else { return }
        Diagnostics.error("plugin-host: \(failure.message)")
        if stopsNow { cancelAll() }
    }

    /// Sends Cancel to every plugin without waiting (a plugin with no call running ignores it).
    private func cancelAll() {
        for client in clients { Task { try? await client.cancel() } }
    }
}
