import Foundation
import SluiceWire

/// `plugin-host pipeline --resources` / `--release-resources`: what the pipeline's plugins keep
/// on their systems between runs (the source's replication slot and publication, the states
/// its destinations committed), asked of every plugin announcing the `resources` feature in the
/// role it plays (PROTOCOL.md §4.7). Releasing drops what each plugin can, and empties the
/// pipeline's state file: the next run starts over (with change data capture, from a new
/// snapshot).
struct PipelineResources {
    /// List, or release.
    enum Action: Sendable { case list, release }

    let source: PluginSession
    let destinations: [PluginSession]
    let sourceConfig: String
    let destinationConfigs: [String]
    let pipelineID: String
    let statePath: String?
    let action: Action

    /// Asks each plugin, prints what it keeps (stdout), and clears the state file when releasing.
    func run() async throws {
        let release = action == .release
        var lines = ["pipeline \(pipelineID):"]
        let plugins = [(source, sourceConfig, Role.source)] + zip(destinations, destinationConfigs).map { ($0, $1, Role.destination) }
        for (session, config, role) in plugins {
            let head = "\(session.launch.label ?? "plugin") (\(session.launch.plugin))"
            guard session.client.helloReply.capabilities.has(Feature.resources) else {
                lines.append("\(head): lists nothing (no \(Feature.resources) feature)")
                continue
            }
            let response = try await Pipeline.labelled(session) {
                try await session.client.resources(ResourcesRequest(configJSON: config, role: role, pipelineID: pipelineID, release: release))
            }
            lines.append(response.resources.isEmpty ? "\(head): keeps nothing for this pipeline" : "\(head):")
            for resource in response.resources {
                var line = "  \(resource.kind) \(resource.name): \(resource.detail)"
                if resource.lagBytes > 0 { line += "; holds back \(ProgressReport.bytes(resource.lagBytes))" }
                if release { line += resource.released ? " [released]" : " [kept]" }
                lines.append(line)
            }
        }
        if release, let statePath, FileManager.default.fileExists(atPath: statePath) {
            try StateFile.save([], to: statePath)
            lines.append("state file \(statePath): cleared")
        }
        Diagnostics.output(lines.joined(separator: "\n"))
    }
}
