import Foundation
import SluiceWire
import Testing
@testable import PluginHostKit

@Suite("plugin-host StateFile: states saved and loaded back, and invalid files named by path")
struct StateFileTests {
    private func temporaryPath() -> String {
        NSTemporaryDirectory() + "sluice-state-\(UUID().uuidString).json"
    }

    @Test("a missing file holds no states")
    func missing() throws {
        #expect(try StateFile.load(temporaryPath()).isEmpty)
    }

    @Test("text and binary states, per stream and global, save and load back equal")
    func roundTrip() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let states = [
            State(id: 3, stream: StreamID(namespace: "public", name: "orders"), data: Array(#"{"cursor": "2024-01-01"}"#.utf8)),
            State(id: 4, stream: nil, data: [0xFF, 0x00, 0x80]),
        ]
        try StateFile.save(states, to: path)
        let loaded = try StateFile.load(path)
        #expect(loaded.map(\.id) == [3, 4])
        #expect(loaded.map(\.stream) == states.map(\.stream))
        #expect(loaded.map(\.data) == states.map(\.data))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(#""data_base64" : "/wCA""#) || text.contains(#""data_base64": "/wCA""#))
    }

    @Test("unknown keys, a missing data and invalid base64 are each named by path")
    func invalid() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(#"{"states": [{"stream": null, "id": 1, "dta": "x"}, {"stream": null, "id": 2, "data_base64": "!!"}], "extra": 1}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try StateFile.load(path)
        } throws: { error in
            guard let failure = error as? HostFailure else { return false }
            return failure.exitCode == ExitCodes.config
                && failure.message.contains("$.extra") && failure.message.contains("$.states[0].dta")
                && failure.message.contains(#"$.states[0]: missing "data" or "data_base64""#)
                && failure.message.contains("$.states[1].data_base64: invalid base64")
        }
    }
}
