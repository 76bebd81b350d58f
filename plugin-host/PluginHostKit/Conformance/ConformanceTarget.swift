import Foundation
import SluiceSDK
import SluiceWire

/// The plugin under test and how each check starts it: a fresh process per session, a time
/// limit per session, and nothing left running afterwards.
struct ConformanceTarget: Sendable {
    /// The executable.
    let executable: URL
    /// The Hello every session sends (protocol versions 1–1).
    let hello: Hello
    /// Seconds a session (or a command-line run) may take.
    let timeout: Double
    /// Whether the plugin's raw stderr is copied to ours.
    let echoStderr: Bool
    /// Plugin logs at or above this level are printed to stderr.
    let logLevel: LogLevel
    let reaper: PluginReaper

    init(launch: PluginLaunch, environment: [String: String], timeout: Double, reaper: PluginReaper) {
        executable = PluginLocator.locate(launch.plugin, environment: environment)
        hello = Hello(hostName: "plugin-host conformance", hostVersion: PluginHost.version, logLevel: launch.logLevel.level,
                      maxFrameSize: launch.maxFrameSize ?? 0)
        self.timeout = timeout
        echoStderr = launch.verbose
        logLevel = launch.logLevel.level
        self.reaper = reaper
    }

    /// Prints an in-band log at or above the chosen level.
    func show(_ log: LogMessage) {
        if (log.level == .unspecified ? .info : log.level) <= logLevel { Diagnostics.log(log) }
    }

    /// `seconds` as people write them: `10 s`, `2.5 s`.
    var timeoutText: String {
        timeout == timeout.rounded() ? "\(Int(timeout)) s" : "\(timeout) s"
    }

    /// Spawns a fresh plugin and runs `body` against it within the time limit. Then, when the
    /// check passed, ends the session (Close, end of input); when it failed, kills the plugin
    /// and whatever it started, which may hang.
    func withPlugin<T: Sendable>(_ body: @escaping @Sendable (ConformanceProbe) async throws -> T) async throws -> T {
        let state = ProbeState()
        let client = try PluginClient.spawn(executable: executable, echoStderr: echoStderr,
                                            onLog: { [self] log in state.noteLog(); show(log) })
        reaper.track(client.process.pid)
        let probe = ConformanceProbe(client: client, target: self, state: state)
        let outcome: Result<T, any Error>
        do {
            outcome = .success(try await Deadline.run(seconds: timeout) { try await body(probe) })
        } catch is Deadline.Expired {
            outcome = .failure(ConformanceFailure("timed out after \(timeoutText) \(state.step) (the plugin was killed)"))
        } catch let failure as ConformanceFailure {
            outcome = .failure(failure)
        } catch {
            outcome = .failure(await explained(error, by: client))
        }
        if case .success = outcome { await client.close(timeout: timeout) }
        reaper.release(client.process.pid, kill: client.process.exitStatus == nil)
        return try outcome.get()
    }

    /// An error of the SDK's host side (a broken frame, a crash) as a reason that also says
    /// how the plugin ended and what it last wrote to stderr.
    private func explained(_ error: any Error, by client: PluginClient) async -> ConformanceFailure {
        let reason = ConformanceText.reason(error)
        switch error {
        case HostError.protocolViolation:
            var explained = reason
            if let status = await client.process.waitForExit(timeout: 0.5) {
                explained += "; the plugin then \(status)"
                await client.process.waitForStderrEnd(timeout: 0.5)
            }
            let tail = client.process.stderr.split(separator: "\n", omittingEmptySubsequences: true).suffix(3)
            if !tail.isEmpty { explained += "; its last stderr lines: " + ConformanceText.oneLine(tail.joined(separator: "\n")) }
            return ConformanceFailure(explained)
        case HostError.pluginCrashed:
            // What it wrote before it ended may not be frames at all: the likelier cause.
            do {
                _ = try await Deadline.run(seconds: 0.5) { try await client.nextMessage() }
            } catch HostError.protocolViolation(let broken) {
                return ConformanceFailure("protocol violation by the plugin: \(broken); \(reason)")
            } catch {}
            return ConformanceFailure(reason)
        default:
            return ConformanceFailure(reason)
        }
    }
}
