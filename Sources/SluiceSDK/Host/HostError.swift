public import SluiceWire

/// Why a host-side call to a plugin failed.
public enum HostError: Error, Sendable, CustomStringConvertible {
    /// The plugin binary could not be started.
    case spawnFailed(String)
    /// The plugin ended (or closed stdout) while an answer was due.
    case pluginCrashed(ExitStatus?, stderr: String)
    /// The plugin broke the protocol (malformed frame, wrong message).
    case protocolViolation(String)
    /// The plugin answered the call with an Error message.
    case plugin(PluginError)

    public var description: String {
        switch self {
        case .spawnFailed(let reason):
            return "could not start the plugin: \(reason)"
        case .pluginCrashed(let status, let stderr):
            let how = status.map { "the plugin \($0)" } ?? "the plugin closed its output"
            let tail = stderr.split(separator: "\n", omittingEmptySubsequences: true).suffix(20).joined(separator: "\n")
            return tail.isEmpty ? "\(how) before answering" : "\(how) before answering; its last stderr lines:\n\(tail)"
        case .protocolViolation(let reason):
            return "protocol violation by the plugin: \(reason)"
        case .plugin(let error):
            return error.description
        }
    }
}
