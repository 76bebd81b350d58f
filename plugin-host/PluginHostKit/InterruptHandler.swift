import Dispatch
import Foundation
import SluiceSDK
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT/SIGTERM while plugins run: the first asks every plugin to cancel its running call
/// (which rolls back what is not committed and ends the call with CANCELLED; a plugin that does
/// not read it gets SIGTERM, see ``PluginClient/cancel(signalAfter:endAfter:)``); a second kills
/// the plugins and exits with 130.
final class InterruptHandler {
    private let sources: [any DispatchSourceSignal]
    private let interrupts = LockedBox(0)

    /// Whether SIGINT or SIGTERM arrived.
    var interrupted: Bool { interrupts.withLock { $0 > 0 } }

    /// Asks whether SIGINT or SIGTERM arrived, from any task.
    var check: @Sendable () -> Bool {
        let interrupts = interrupts
        return { interrupts.withLock { $0 > 0 } }
    }

    /// Starts handling the signals for `clients`; `onInterrupt` runs once, at the first signal,
    /// before the plugins are asked to cancel.
    init(clients: [PluginClient], onInterrupt: @escaping @Sendable () -> Void = {}) {
        let interrupts = self.interrupts
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let count = interrupts.withLock { value -> Int in
                    value += 1
                    return value
                }
                if count == 1 {
                    let what = clients.count == 1 ? "the call (interrupt again to kill the plugin)"
                                                  : "the calls (interrupt again to kill the plugins)"
                    Diagnostics.warning("plugin-host: interrupted; cancelling \(what)")
                    onInterrupt()
                    for client in clients { Task { try? await client.cancel() } }
                } else {
                    for client in clients { client.process.send(signal: SIGKILL) }
                    exit(130)
                }
            }
            source.resume()
            return source
        }
    }

    /// Stops handling the signals (their default action applies again).
    func stop() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
