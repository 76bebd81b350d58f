import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// The frame size limit of PROTOCOL.md §2.2 and §7.3, both ways, through the real
/// `postgres-plugin` binary: a message the plugin would have to send over the limit fails only
/// the call, as `Error{PROTOCOL, TRANSPORT_FAILED}`; a frame over the limit that the plugin
/// receives ends the session with `Error{PROTOCOL, FRAME_TOO_LARGE}` and exit code 2.
@Suite("frame size limit")
struct FrameLimitTests {
    static let frameLimit: UInt32 = 16 * 1024

    static func launch(maxFrameSize: UInt32 = frameLimit) async throws -> PluginClient {
        try await PluginClient.launch(executable: Binaries.postgresPlugin,
                                      hello: Hello(hostName: "frame-tests", hostVersion: "1", maxFrameSize: maxFrameSize))
    }

    @Test("a row too large for the host's frame limit fails the Read as PROTOCOL/TRANSPORT_FAILED; the session goes on")
    func oversizedMessageToSend() async throws {
        try await SourceHarness.withSchema { schema, connection in
            let table = SQL.quoteQualified(schema: schema, name: "wide")
            _ = try await connection.execute("CREATE TABLE \(table) (id int PRIMARY KEY, body text)")
            // Random text, so that no layer can compress it under the limit.
            _ = try await connection.execute("INSERT INTO \(table) SELECT 1, string_agg(md5(g::text), '') FROM generate_series(1, 2000) g")
            let client = try await Self.launch()
            do {
                _ = try await SourceHarness.read([SourceHarness.stream(schema, "wide")], client: client)
                Issue.record("the read should have failed")
            } catch HostError.plugin(let error) {
                #expect(error.category == .protocol, "\(error)")
                #expect(error.code == "TRANSPORT_FAILED", "\(error)")
                #expect(error.stream?.name == "wide", "\(error)")
                #expect(error.message.contains("maximum frame size of \(Self.frameLimit) bytes"), "\(error)")
            }
            // Only the call failed: the session answers the next one.
            let catalog = try await client.discover(DiscoverRequest(configJSON: SourceHarness.config(["schemas": [schema]])))
            #expect(catalog.streams.map(\.schema.stream.name) == ["wide"])
            #expect(await client.close() == .exited(0))
        }
    }

    @Test("a frame over the limit from the host ends the session: FRAME_TOO_LARGE, exit code 2", arguments: [false, true])
    func oversizedFrameReceived(duringWrite: Bool) async throws {
        let client = try await Self.launch()
        if duringWrite {
            let stream = DestinationHarness.items
            try await client.startWrite(WriteRequest(configJSON: DestinationHarness.config(schema: "frame_tests_unused"),
                                                     catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: stream, writeMode: .append)]),
                                                     sourceName: "frame-tests"))
        }
        // Only the header: the plugin must refuse the frame from its declared length alone.
        let length = Self.frameLimit + 1
        try await client.sendRaw([0, UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
        var errors: [PluginError] = []
        while let message = try await client.nextMessage() {
            if case .error(let error) = message { errors.append(error) }
        }
        // One Error: during a Write it ends the call, and the session does not repeat it.
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.category == .protocol, "\(errors)")
        #expect(errors.first?.code == "FRAME_TOO_LARGE", "\(errors)")
        #expect(await client.process.waitForExit() == .exited(2))
    }
}
