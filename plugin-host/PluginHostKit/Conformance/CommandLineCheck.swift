import Foundation

/// The `command-line` check (§1.3): run by a person, a plugin answers `--version`, `--help`
/// and `-h` on stdout with exit 0, and an unknown argument (alone or with `--version`) is a
/// usage error: exit 64, its message on stderr only.
struct CommandLineCheck: Sendable {
    let target: ConformanceTarget

    /// Runs the plugin with each argument; returns what `--version` printed.
    func run() async throws -> String {
        let version = try await expect(["--version"], exitCode: 0)
        let firstLine = version.stdout.split(separator: "\n").first.map(String.init) ?? ""
        guard !firstLine.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConformanceFailure("`--version` printed nothing on stdout")
        }
        for flag in ["--help", "-h"] {
            let help = try await expect([flag], exitCode: 0)
            guard !help.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ConformanceFailure("`\(flag)` printed nothing on stdout")
            }
        }
        for arguments in [["--sluice-conformance-no-such-option"], ["--version", "--sluice-conformance-no-such-option"]] {
            let usage = try await expect(arguments, exitCode: 64)
            guard usage.stdout.isEmpty else {
                throw ConformanceFailure("`\(arguments.joined(separator: " "))` wrote to stdout; a usage error's message belongs on stderr")
            }
        }
        return "--version prints \"\(firstLine)\"; --help and -h exit 0; an unknown argument, alone or after --version, exits 64 with nothing on stdout"
    }

    private func expect(_ arguments: [String], exitCode: Int32) async throws -> CommandLineRun {
        let command = "`\(arguments.joined(separator: " "))`"
        let run: CommandLineRun
        do {
            run = try await CommandLineRun.run(arguments, of: target)
        } catch is Deadline.Expired {
            throw ConformanceFailure("\(command) did not exit within \(target.timeoutText) (it was killed)")
        }
        guard run.status == .exited(exitCode) else {
            throw ConformanceFailure("\(command): the plugin \(run.status), expected exit code \(exitCode)")
        }
        return run
    }
}
