/// The exit codes of `plugin-host` (from sysexits.h where one fits). Usage errors exit 64,
/// which ArgumentParser returns for parsing and validation errors.
enum ExitCodes {
    /// The command succeeded.
    static let success: Int32 = 0
    /// `conformance` ran and at least one check failed.
    static let conformanceFailed: Int32 = 1
    /// A configuration, catalog or input file is missing, unparseable or invalid (also an unset `${VAR}`).
    static let config: Int32 = 65
    /// Check ran and at least one check failed.
    static let checkFailed: Int32 = 66
    /// The plugin answered the call with an Error.
    static let pluginError: Int32 = 70
    /// The plugin could not be started, crashed, or broke the protocol.
    static let pluginCrashed: Int32 = 71
    /// Writing the output or state file failed.
    static let ioError: Int32 = 74
    /// Another run holds the state file or pipeline file (EX_TEMPFAIL: try again later).
    static let alreadyRunning: Int32 = 75
    /// SIGINT or SIGTERM stopped the command (128 + SIGINT, as shells report it).
    static let interrupted: Int32 = 130

    /// The table printed by `--help`.
    static let help = """
        Exit codes:
          0   success
          1   conformance: at least one check failed
          64  usage error (bad arguments)
          65  configuration error: config, catalog or input file missing,
              unparseable or invalid against the schema; ${VAR} not set
          66  check failed: Check ran and a check did not pass
          70  the plugin reported an error (the call failed)
          71  the plugin could not start, crashed or broke the protocol
              (its exit status and last stderr lines are printed)
          74  the output or state file could not be written
          75  already running: another run holds the state file or
              pipeline file (try again once it has finished)
          130 interrupted by SIGINT or SIGTERM (the running calls were cancelled)
        """
}

/// A failure that ends the command with an exit code and a message for stderr.
struct HostFailure: Error, Sendable {
    var exitCode: Int32
    /// One clear line (more lines for lists of problems or a crashed plugin's stderr).
    var message: String
    /// Whether the plugin said the same call may succeed when repeated (a transient failure).
    var retryable: Bool

    init(_ exitCode: Int32, _ message: String, retryable: Bool = false) {
        self.exitCode = exitCode
        self.message = message
        self.retryable = retryable
    }

    /// A configuration problem listing each item on its own line.
    static func config(_ headline: String, _ problems: [String]) -> HostFailure {
        HostFailure(ExitCodes.config, ([headline] + problems.map { "  \($0)" }).joined(separator: "\n"))
    }
}
