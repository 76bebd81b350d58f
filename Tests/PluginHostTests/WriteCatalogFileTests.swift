import Foundation
import SluiceWire
import Testing
@testable import PluginHostKit

/// The catalog file of `plugin-host write`: a stream's `sync_mode` decides which write modes
/// may take its rows (PROTOCOL.md §4.5).
@Suite struct WriteCatalogFileTests {
    private func load(syncMode: String, writeMode: String) throws -> ConfiguredCatalog {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("write-catalog-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = """
            {"streams": [{"namespace": "app", "name": "items", "columns": [{"name": "id", "type": "int64"}],
                          "primary_key": ["id"], "sync_mode": "\(syncMode)", "write_mode": "\(writeMode)"}]}
            """
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        return try WriteCatalogFile.load(path)
    }

    @Test("a stream read incrementally is refused with mirror or replace, naming the key's path; append and upsert take it")
    func incrementalRowsAreNotTheWholeStream() throws {
        for mode in ["mirror", "replace"] {
            do {
                _ = try load(syncMode: "incremental", writeMode: mode)
                Issue.record("\(mode) took an incremental stream")
            } catch let failure as HostFailure {
                #expect(failure.exitCode == ExitCodes.config)
                #expect(failure.message.contains("$.streams[0].write_mode: a stream read incrementally is not written with mirror or replace"),
                        "\(failure.message)")
            }
        }
        for mode in ["append", "upsert"] {
            let catalog = try load(syncMode: "incremental", writeMode: mode)
            #expect(catalog.streams.first?.syncMode == .incremental)
        }
        #expect(try load(syncMode: "full_refresh", writeMode: "replace").streams.first?.writeMode == .replace)
    }
}
