import Foundation
import Testing

/// A temporary folder of each test's own, removed with everything in it (what the test wrote,
/// what its plugins and servers wrote) once the test has ended, passed or not.
/// `@Suite(.temporaryFolder)` gives one to every test of the suite (to each argument of a
/// parameterized test); ``url(_:)`` names a file in the running test's folder.
struct TemporaryFolder: SuiteTrait, TestTrait, TestScoping {
    @TaskLocal private static var current: URL?

    /// Applied to every test of the suite.
    var isRecursive: Bool { true }

    /// A folder for each test case, none for the suite as a whole.
    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? { testCase == nil ? nil : self }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try await Self.$current.withValue(folder) { try await function() }
    }

    /// The file (or folder) `name` in the running test's temporary folder.
    static func url(_ name: String) throws -> URL {
        guard let folder = current else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the test has no temporary folder: give its suite the .temporaryFolder trait"])
        }
        return folder.appendingPathComponent(name)
    }
}

extension Trait where Self == TemporaryFolder {
    /// A temporary folder for each test, removed when the test ends (see ``TemporaryFolder``).
    static var temporaryFolder: Self { TemporaryFolder() }
}
