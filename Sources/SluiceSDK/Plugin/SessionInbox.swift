import SluiceWire

/// The host's messages as the plugin session consumes them, with transport failures turned
/// into protocol errors. Once the input is broken every read fails the same way.
final class SessionInbox: @unchecked Sendable {
    private let reader: FrameReader<HostMessage>
    private var broken: PluginError?

    init(reader: FrameReader<HostMessage>) {
        self.reader = reader
    }

    /// The error that broke the input, if any.
    var failure: PluginError? { broken }

    /// The next message; `nil` at a clean end of input; throws when the input is broken.
    func nextMessage() async throws(PluginError) -> HostMessage? {
        if let broken { throw broken }
        guard let event = await reader.queue.next() else { return nil }
        switch event {
        case .message(let message):
            return message
        case .protocolError(let error):
            broken = PluginError(category: .protocol, code: error.code.rawValue, message: error.description)
        case .readFailed(let reason):
            broken = PluginError(category: .protocol, code: "READ_FAILED", message: "reading the host's input failed: \(reason)")
        }
        throw broken!
    }
}
