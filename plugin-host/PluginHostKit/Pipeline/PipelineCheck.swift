import ArgumentParser
import Foundation
import SluiceWire

/// `plugin-host check --pipeline FILE`: Check for every plugin of a pipeline file, each in the
/// role it plays there, with its configuration (a file or inline) expanded and validated first.
struct PipelineCheck {
    let options: PluginOptions
    /// JSON output (else ✔/✘ lines per plugin).
    let json: Bool

    /// One plugin's outcome: its Check, or why it could not be checked.
    private struct Outcome {
        var launch: PluginLaunch
        var result: Result<CheckResponse, HostFailure>
    }

    func run(_ path: String) async throws {
        let environment = ProcessInfo.processInfo.environment
        let file: PipelineFile
        do {
            file = try PipelineFile.load(path, environment: environment)
        } catch {
            let failure = PluginSession.failure(for: error, stderr: nil)
            Diagnostics.line("plugin-host: \(failure.message)")
            throw ExitCode(failure.exitCode)
        }
        let launches = file.launches(logLevel: options.logLevel, maxFrameSize: options.maxFrameSize, verbose: options.verbose)
        var outcomes: [Outcome] = []
        for (index, launch) in launches.enumerated() {
            outcomes.append(Outcome(launch: launch, result: await check(launch, role: index == 0 ? .source : .destination, environment: environment)))
        }
        Diagnostics.output(json ? JSONWriter.pretty(Self.json(outcomes)) : Self.readable(outcomes))
        if outcomes.contains(where: { if case .failure = $0.result { true } else { false } }) {
            let codes = outcomes.compactMap { if case .failure(let failure) = $0.result { failure.exitCode } else { nil } }
            throw ExitCode(codes.contains(ExitCodes.config) ? ExitCodes.config : codes.max() ?? ExitCodes.config)
        }
        if outcomes.contains(where: { (try? $0.result.get())?.passed == false }) { throw ExitCode(ExitCodes.checkFailed) }
    }

    /// Starts the plugin, validates its configuration and runs Check in `role`.
    private func check(_ launch: PluginLaunch, role: Role, environment: [String: String]) async -> Result<CheckResponse, HostFailure> {
        let session: PluginSession
        do {
            session = try await PluginSession.start(launch, environment: environment)
        } catch {
            return .failure(PluginSession.failure(for: error, stderr: nil))
        }
        let result: Result<CheckResponse, HostFailure>
        do {
            guard session.client.helloReply.roles.contains(role) else {
                throw HostFailure(ExitCodes.config, "\(launch.plugin) is not a \(role == .source ? "source" : "destination") plugin")
            }
            let config = try await session.configJSON()
            result = .success(try await session.client.check(CheckRequest(configJSON: config, role: role)))
        } catch {
            result = .failure(PluginSession.failure(for: error, stderr: session.client.process.stderr))
        }
        await session.close(warn: false)
        return result
    }

    private static func json(_ outcomes: [Outcome]) -> JSONValue {
        let passed = outcomes.allSatisfy { (try? $0.result.get())?.passed == true }
        return .object([
            ("passed", .bool(passed)),
            ("plugins", .array(outcomes.map { outcome in
                var members: [(key: String, value: JSONValue)] = [("label", .string(outcome.launch.label ?? "plugin")),
                                                                   ("plugin", .string(outcome.launch.plugin))]
                switch outcome.result {
                case .success(let response):
                    members.append(("passed", .bool(response.passed)))
                    members.append(("checks", CheckCommand.json(response)["checks"] ?? .array([])))
                case .failure(let failure):
                    members.append(("passed", .bool(false)))
                    members.append(("error", .string(failure.message)))
                }
                return .object(members)
            })),
        ])
    }

    private static func readable(_ outcomes: [Outcome]) -> String {
        outcomes.map { outcome in
            let head = "\(outcome.launch.label ?? "plugin") (\(outcome.launch.plugin)):"
            switch outcome.result {
            case .success(let response): return head + "\n" + CheckCommand.readable(response)
            case .failure(let failure): return head + "\n✘ " + failure.message
            }
        }.joined(separator: "\n")
    }
}
