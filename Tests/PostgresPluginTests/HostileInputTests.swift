import Foundation
import Testing

/// Hostile files given to `plugin-host`: each is refused with exit 65 and a message naming the
/// file, instead of a stack overflow (exit 139), unbounded memory or a quadratic wait.
/// None of these reaches a database.
@Suite("plugin-host: hostile input files", .temporaryFolder)
struct HostileInputTests {
    private func host(_ arguments: [String]) async throws -> CommandResult {
        let result = try await HostFixtures.host(arguments)
        #expect(!result.timedOut, "plugin-host \(arguments.first ?? "") timed out")
        return result
    }

    private func check(config: String, suffix: String = ".yaml") async throws -> (path: String, result: CommandResult) {
        let path = try HostFixtures.temporaryFile(config, suffix: suffix)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return (path, try await host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", path]))
    }

    /// A YAML "billion laughs": ten levels of nine aliases each, 9^10 values once expanded.
    private static let aliasBomb: String = {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...10 {
            text += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]\n"
        }
        return text
    }()

    @Test("a JSON configuration nested 5,000 levels deep is refused, naming the file and the limit")
    func deepJSONConfig() async throws {
        let (path, result) = try await check(config: #"{"a": "# + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}",
                                             suffix: ".json")
        #expect(result.exitCode == 65, "\(result.stderr)")
        #expect(result.stderr.contains("\(path) nests deeper than 512 levels"), "\(result.stderr)")
    }

    @Test("a YAML configuration nested 5,000 levels deep (block sequences) is refused")
    func deepYAMLConfig() async throws {
        let (path, result) = try await check(config: "settings:\n  " + String(repeating: "- ", count: 5000) + "x\n")
        #expect(result.exitCode == 65, "\(result.stderr)")
        #expect(result.stderr.contains("\(path) nests deeper than 512 levels at line 2"), "\(result.stderr)")
    }

    @Test("a configuration exactly at the depth limit is read (and judged by the schema)")
    func depthAtTheLimit() async throws {
        let (_, result) = try await check(config: "tags: " + String(repeating: "[", count: 511) + String(repeating: "]", count: 511) + "\n")
        #expect(result.exitCode == 65, "\(result.stderr)")
        #expect(result.stderr.contains(#"unknown property "tags""#), "\(result.stderr)")
    }

    @Test("a YAML alias bomb is refused at once, before it is expanded")
    func aliasBomb() async throws {
        let (path, result) = try await check(config: Self.aliasBomb)
        #expect(result.exitCode == 65, "\(result.stderr)")
        #expect(result.stderr.contains("\(path) expands to more than 100000 values (aliases counted as copies)"), "\(result.stderr)")
    }

    @Test("a few aliases still work")
    func aliasesAllowed() async throws {
        let (_, result) = try await check(config: "base: &base [1, 2]\nnot_a_setting: *base\n")
        #expect(result.exitCode == 65, "\(result.stderr)")
        #expect(result.stderr.contains(#"unknown property "not_a_setting""#), "\(result.stderr)")
    }

    @Test("a configuration file over 8 MiB is refused without being parsed")
    func hugeConfig() async throws {
        let (path, result) = try await check(config: "application_name: " + String(repeating: "x", count: 9 << 20) + "\n")
        #expect(result.exitCode == 65, "\(result.stderr)")
        #expect(result.stderr.contains("the configuration file \(path) is larger than 8 MiB"), "\(result.stderr)")
    }

    @Test("a 6 MB string full of $ signs is expanded and validated in linear time")
    func longStringValidates() async throws {
        let (_, result) = try await check(config: "not_a_setting: 1\napplication_name: \"" + String(repeating: "$x", count: 3 << 20) + "\"\n")
        #expect(result.exitCode == 65, "\(result.stderr)")
        #expect(result.stderr.contains(#"unknown property "not_a_setting""#), "\(result.stderr)")
    }

    @Test("a pipeline file with an alias bomb or 5,000 levels is refused, naming the file")
    func hostilePipelineFile() async throws {
        for text in [Self.aliasBomb, "source: " + String(repeating: "{a: ", count: 5000) + "1" + String(repeating: "}", count: 5000) + "\n"] {
            let path = try HostFixtures.temporaryFile(text)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let result = try await host(["pipeline", "--pipeline", path])
            #expect(result.exitCode == 65, "\(result.stderr)")
            #expect(result.stderr.contains("the pipeline file \(path) is refused:"), "\(result.stderr)")
        }
    }

    @Test("a catalog file over 8 MiB is refused, naming it")
    func hugeCatalog() async throws {
        let config = try HostFixtures.temporaryFile(HostFixtures.serverConfig())
        let catalog = try HostFixtures.temporaryFile(#"{"streams": [], "padding": ""# + String(repeating: " ", count: 9 << 20) + #""}"#,
                                                     suffix: ".json")
        defer {
            try? FileManager.default.removeItem(atPath: config)
            try? FileManager.default.removeItem(atPath: catalog)
        }
        let result = try await host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", config, "--catalog", catalog])
        #expect(result.exitCode == 65, "\(result.stderr)")
        #expect(result.stderr.contains("the catalog file \(catalog) is larger than 8 MiB"), "\(result.stderr)")
    }
}
