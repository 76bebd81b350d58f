public import SluiceWire

/// A message read from a plugin; for a record batch, also the frame's payload it came in.
public struct ReceivedMessage: Sendable {
    public let message: PluginMessage
    /// A record batch's payload, kept so it can be forwarded as it came.
    let payload: [UInt8]?

    /// Decodes `payload` (``WireCodec/decodePluginMessage(_:)``), keeping it for a record batch.
    init(payload: [UInt8]) throws(ProtocolError) {
        message = try WireCodec.decodePluginMessage(payload)
        if case .records = message { self.payload = payload } else { self.payload = nil }
    }

    /// For a record batch: the HostMessage payload that carries it on to a destination in the
    /// very bytes it came in (``WireCodec/hostRecordsPayload(forwarding:)``); nil for any other
    /// message, or a batch laid out so that it must be encoded again.
    public var forwardingPayload: FramePayload? { payload.flatMap(WireCodec.hostRecordsPayload(forwarding:)) }
}
