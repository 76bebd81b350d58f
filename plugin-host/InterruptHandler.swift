import Dispatch
import Foundation
import SluiceSDK
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT/SIGTERM while a plugin runs: the first asks the plugin to cancel the running Read or
/// Write (which rolls back what is not committed and ends the call with CANCELLED); a second
/// kills the plugin and exits with 130.
final class InterruptHandler {
    private let sources: [any DispatchSourceSignal]

    /// Starts handling the signals for `client`.
    init(client: PluginClient) {
        let interrupts = LockedValue(0)
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let count = interrupts.withLock { value -> Int in
                    value += 1
                    return value
                }
                if count == 1 {
                    Diagnostics.line("plugin-host: interrupted; cancelling the call (interrupt again to kill the plugin)")
                    Task { try? await client.cancel() }
                } else {
                    client.process.send(signal: SIGKILL)
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
