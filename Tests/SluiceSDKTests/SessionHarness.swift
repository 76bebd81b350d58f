import Foundation
import SluiceWire
@testable import SluiceSDK

/// Runs a ``PluginServer`` in-process over pipes and speaks raw frames to it, so tests see
/// exactly what a host in another language would.
final class SessionHarness: @unchecked Sendable {
    private let toPlugin = Pipe()
    private let fromPlugin = Pipe()
    let server: PluginServer
    private var decoder = FrameDecoder()
    private let outcomeBox = LockedBox<PluginServer.Outcome?>(nil)
    private let task: Task<Void, Never>

    init(plugin: any Plugin) {
        server = PluginServer(plugin: plugin, input: toPlugin.fileHandleForReading, output: fromPlugin.fileHandleForWriting)
        let server = self.server, box = outcomeBox
        task = Task { box.value = await server.run() }
    }

    func sendRaw(_ bytes: [UInt8]) throws {
        try toPlugin.fileHandleForWriting.write(contentsOf: Data(bytes))
    }

    func send(_ message: HostMessage) throws {
        try sendRaw(Frame.encode(WireCodec.encode(message)))
    }

    func closeInput() throws {
        try toPlugin.fileHandleForWriting.close()
    }

    /// The next message the plugin sent, skipping logs; `nil` at end of output.
    /// The blocking pipe read runs off Swift's cooperative threads, so parallel tests cannot
    /// starve the in-process servers.
    func receive() async throws -> PluginMessage? {
        while true {
            if let payload = try decoder.nextFrame() {
                let message = try WireCodec.decodePluginMessage(payload)
                if case .log = message { continue }
                return message
            }
            let handle = fromPlugin.fileHandleForReading
            let data = await withCheckedContinuation { continuation in
                // A thread of its own: a blocked read must not hold one of Dispatch's few pool threads.
                Thread.detachNewThread { continuation.resume(returning: handle.availableData) }
            }
            guard !data.isEmpty else { return nil }
            decoder.append(data)
        }
    }

    /// Waits for the session to end and returns its outcome.
    func outcome() async -> PluginServer.Outcome? {
        await task.value
        try? fromPlugin.fileHandleForWriting.close()
        return outcomeBox.value
    }

    func handshake() async throws -> HelloReply? {
        try send(.hello(Hello(hostName: "test-host", hostVersion: "1")))
        guard case .hello(let reply)? = try await receive() else { return nil }
        return reply
    }
}
