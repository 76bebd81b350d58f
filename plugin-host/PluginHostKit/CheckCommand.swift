import ArgumentParser
import Foundation
import SluiceWire
#if canImport(Glibc)
import Glibc
#endif

/// `plugin-host check`: validates the configuration and asks the plugin to check it.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the configuration: connectivity, credentials, privileges (Check).",
        discussion: """
            Prints {"passed": …, "checks": [{"name", "passed", "code", "message"}]} as JSON, or \
            one ✔/✘ line per check when stdout is a terminal (unless --json). Exits 66 when a check failed.

            \(ExitCodes.help)
            """
    )

    @OptionGroup var options: PluginOptions

    @Option(help: "The role to check privileges for: source or destination (default: every role the plugin has).")
    var role: RoleOption?

    @Flag(help: "Print JSON even on a terminal.")
    var json = false

    func run() async throws {
        try await PluginSession.run(options) { session in
            let config = try await session.configJSON()
            let response = try await session.client.check(CheckRequest(configJSON: config, role: role?.role ?? .unspecified))
            if json || isatty(STDOUT_FILENO) == 0 {
                Diagnostics.output(JSONWriter.pretty(Self.json(response)))
            } else {
                Diagnostics.output(Self.readable(response))
            }
            return response.passed ? ExitCodes.success : ExitCodes.checkFailed
        }
    }

    private static func json(_ response: CheckResponse) -> JSONValue {
        .object([
            ("passed", .bool(response.passed)),
            ("checks", .array(response.checks.map { check in
                .object([("name", .string(check.name)), ("passed", .bool(check.passed)),
                         ("code", .string(check.code)), ("message", .string(check.message))])
            })),
        ])
    }

    private static func readable(_ response: CheckResponse) -> String {
        var lines = response.checks.map { check in
            let mark = check.passed ? "✔" : "✘"
            let code = check.passed ? "" : " [\(check.code)]"
            let message = check.message.isEmpty ? "" : ": \(check.message)"
            return "\(mark) \(check.name)\(code)\(message)"
        }
        let failed = response.checks.filter { !$0.passed }.count
        lines.append(response.passed ? "check passed" : "check failed: \(failed) of \(response.checks.count) checks did not pass")
        return lines.joined(separator: "\n")
    }
}

/// A `--role` value.
enum RoleOption: String, ExpressibleByArgument, CaseIterable, Sendable {
    case source, destination

    /// The protocol's role.
    var role: Role { self == .source ? .source : .destination }
}
