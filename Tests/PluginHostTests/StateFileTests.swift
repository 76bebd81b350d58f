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

    @Test("an unfinished read's output position saves and reads back; only read takes it, and a bad one is named by path")
    func outputPosition() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let states = [State(id: 7, stream: StreamID(namespace: "app", name: "items"), data: Array(#"{"key": [42]}"#.utf8))]
        let position = StateFile.OutputPosition(path: "/data/items.jsonl", bytes: 123_456, completeStreams: [StreamID(namespace: "app", name: "done")])
        try StateFile.save(states, output: position, to: path)
        let contents = try StateFile.read(path)
        #expect(contents.output == position)
        #expect(contents.states.map(\.id) == [7])
        // A pipeline (or anything but read) refuses it rather than ignoring it.
        #expect {
            _ = try StateFile.load(path)
        } throws: { error in
            (error as? HostFailure)?.message.contains("$.output: the position of an unfinished plugin-host read --output /data/items.jsonl") == true
        }
        try StateFile.save(states, to: path)
        #expect(try StateFile.read(path).output == nil)

        try Data(#"{"states": [], "output": {"path": "/x", "bytes": -1, "size": 3}}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try StateFile.read(path)
        } throws: { error in
            guard let message = (error as? HostFailure)?.message else { return false }
            return message.contains("$.output.size: unknown key") && message.contains("$.output.bytes: expected a non-negative integer")
        }
        try Data(#"{"states": [], "output": "/x"}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try StateFile.read(path)
        } throws: { error in
            (error as? HostFailure)?.message.contains(#"$.output: expected an object {"path", "bytes"}, got string"#) == true
        }
    }
}
