import Foundation
import Testing

/// plugin-host as a package installs it: started through a symbolic link (`/usr/bin/plugin-host`
/// pointing into `/usr/lib/sluice`) by a user whose `PATH` does not hold the plugins' folder.
@Suite("plugin-host started through a link finds the plugins installed beside it")
struct InstalledLayoutTests {
    @Test("a plugin named without a path, in no PATH folder, is found beside the linked plugin-host")
    func pluginBesideLinkedHost() async throws {
        let files = FileManager.default
        let bin = files.temporaryDirectory.appendingPathComponent("installed-\(UUID().uuidString)")
        try files.createDirectory(at: bin, withIntermediateDirectories: true)
        defer { try? files.removeItem(at: bin) }
        let link = bin.appendingPathComponent("plugin-host")
        try files.createSymbolicLink(at: link, withDestinationURL: Binaries.pluginHost)
        let config = bin.appendingPathComponent("rows.json")
        try Data(#"{"rows": 3}"#.utf8).write(to: config)

        let result = try await CommandRun.run(link, ["read", "--plugin", "sequence-plugin", "--config", config.path],
                                              environment: ["PATH": "\(bin.path):/usr/bin:/bin"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 3, "\(result.stdout)")

        let missing = try await CommandRun.run(link, ["spec", "--plugin", "no-such-plugin-\(UUID().uuidString)"],
                                               environment: ["PATH": "\(bin.path):/usr/bin:/bin"])
        #expect(missing.exitCode == 71, "\(missing.stderr)")
    }
}
