import Foundation

/// The package's built executables, for tests that run them as separate processes.
///
/// `SLUICE_BIN_DIR` names the directory when set; otherwise it is the directory of the
/// running test binary (SwiftPM puts the tests and the executables side by side), and failing
/// that the newest `.build*/debug/` directory of the package that holds `plugin-host`.
enum Binaries {
    /// The directory holding the executables.
    static let directory: URL = locate()

    /// The `plugin-host` executable.
    static var pluginHost: URL { directory.appendingPathComponent("plugin-host") }

    /// The `postgres-plugin` executable.
    static var postgresPlugin: URL { directory.appendingPathComponent("postgres-plugin") }
    /// The SDK's example source.
    static var sequencePlugin: URL { directory.appendingPathComponent("sequence-plugin") }
    /// A source that breaks the protocol on purpose (`Tests/Fixtures/misbehaving-plugin`).
    static var misbehavingPlugin: URL { directory.appendingPathComponent("misbehaving-plugin") }
    /// The benchmarks.
    static var sluiceBench: URL { directory.appendingPathComponent("sluice-bench") }

    private static func locate() -> URL {
        let files = FileManager.default
        if let explicit = ProcessInfo.processInfo.environment["SLUICE_BIN_DIR"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit, isDirectory: true)
        }
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL { candidates.append(executable.deletingLastPathComponent()) }
        candidates.append(Bundle.main.bundleURL)
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for candidate in candidates where files.isExecutableFile(atPath: candidate.appendingPathComponent("postgres-plugin").path) {
            return candidate
        }
        return newestBuildDirectory() ?? candidates[0]
    }

    /// `.build*/debug` under the package root (found from this file's path), newest first.
    private static func newestBuildDirectory() -> URL? {
        let files = FileManager.default
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let scratch = (try? files.contentsOfDirectory(atPath: root.path))?.filter { $0.hasPrefix(".build") } ?? []
        let found = scratch.map { root.appendingPathComponent($0).appendingPathComponent("debug") }
            .filter { files.isExecutableFile(atPath: $0.appendingPathComponent("plugin-host").path) }
        func modified(_ url: URL) -> Date {
            (try? files.attributesOfItem(atPath: url.appendingPathComponent("plugin-host").path)[.modificationDate] as? Date) ?? .distantPast
        }
        return found.max { modified($0) < modified($1) }
    }
}
