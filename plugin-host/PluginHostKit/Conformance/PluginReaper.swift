import Dispatch
import Foundation
import SluiceSDK
#if canImport(Glibc)
import Glibc
#endif

/// The plugin processes a conformance run has started and not yet released. Each is the
/// leader of its own process group (`ChildProcess` starts it so), so killing the group
/// also kills what it started, such as a shell script's children. SIGINT or SIGTERM kills every
/// live group and exits 130.
final class PluginReaper: @unchecked Sendable {
    private let live = LockedBox<Set<Int32>>([])
    private var sources: [any DispatchSourceSignal] = []

    /// Starts handling SIGINT and SIGTERM.
    init() {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [live] in
                Diagnostics.warning("plugin-host: interrupted; killing the plugin")
                for pid in live.withLock({ $0 }) { Self.killGroup(pid) }
                exit(130)
            }
            source.resume()
            return source
        }
    }

    /// Starts watching the process `pid`.
    func track(_ pid: Int32) {
        _ = live.withLock { $0.insert(pid) }
    }

    /// Stops watching `pid`; with `kill`, first kills its process group. Pass `kill` only while
    /// the process has not been reaped, so that its id cannot belong to another process yet.
    func release(_ pid: Int32, kill: Bool) {
        if kill { Self.killGroup(pid) }
        _ = live.withLock { $0.remove(pid) }
    }

    /// Stops handling the signals (their default action applies again).
    func stop() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    private static func killGroup(_ pid: Int32) {
        guard pid > 0 else { return }
        kill(-pid, SIGKILL)
    }
}
