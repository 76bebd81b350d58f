import Foundation
import Testing
@testable import PluginHostKit

@Suite("plugin-host finds a plugin named without a path in PATH, then beside itself")
struct PluginLocatorTests {
    /// Two folders each holding an executable `tool`, and a third holding nothing.
    private struct Folders {
        let root: URL, inPath: URL, beside: URL, empty: URL

        init() throws {
            let files = FileManager.default
            root = files.temporaryDirectory.appendingPathComponent("locator-\(UUID().uuidString)")
            inPath = root.appendingPathComponent("path")
            beside = root.appendingPathComponent("beside")
            empty = root.appendingPathComponent("empty")
            for folder in [inPath, beside, empty] {
                try files.createDirectory(at: folder, withIntermediateDirectories: true)
            }
            for folder in [inPath, beside] {
                let tool = folder.appendingPathComponent("tool").path
                #expect(files.createFile(atPath: tool, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755]))
            }
        }
    }

    @Test("a name in PATH is taken from PATH, even when one lies beside plugin-host")
    func pathFirst() throws {
        let folders = try Folders()
        defer { try? FileManager.default.removeItem(at: folders.root) }
        let found = PluginLocator.locate("tool", environment: ["PATH": "\(folders.empty.path):\(folders.inPath.path)"],
                                         hostDirectory: folders.beside)
        #expect(found.path == folders.inPath.appendingPathComponent("tool").path)
    }

    @Test("a name in no PATH folder is found beside plugin-host")
    func besideHost() throws {
        let folders = try Folders()
        defer { try? FileManager.default.removeItem(at: folders.root) }
        let found = PluginLocator.locate("tool", environment: ["PATH": folders.empty.path], hostDirectory: folders.beside)
        #expect(found.path == folders.beside.appendingPathComponent("tool").path)
        let withoutPath = PluginLocator.locate("tool", environment: [:], hostDirectory: folders.beside)
        #expect(withoutPath.path == folders.beside.appendingPathComponent("tool").path)
    }

    @Test("a name found nowhere is returned as given")
    func nowhere() throws {
        let folders = try Folders()
        defer { try? FileManager.default.removeItem(at: folders.root) }
        let found = PluginLocator.locate("no-such-tool", environment: ["PATH": folders.inPath.path], hostDirectory: folders.beside)
        #expect(found.lastPathComponent == "no-such-tool")
        #expect(!FileManager.default.fileExists(atPath: found.path))
    }
}
