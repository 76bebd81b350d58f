extension WireCodec {
    /// The HostMessage payload that carries the record batch of `payload`, a PluginMessage
    /// payload, on to a destination: a host forwarding a source's batches re-sends the bytes it
    /// validated instead of encoding the decoded batch again.
    ///
    /// Both envelopes are one `oneof` and nothing else, and the batch is the same bytes in
    /// either: a payload that is exactly one `records` field (its tag, its length, the batch)
    /// becomes the other envelope's by changing the tag alone, the length being the same. Any
    /// other layout — another message, a batch followed by more fields, a length that does not
    /// end the payload — gives `nil`: encode the decoded message instead.
    public static func hostRecordsPayload(forwarding payload: [UInt8]) -> FramePayload? {
        guard payload.first == pluginRecordsTag else { return nil }
        // The length, a varint of at most five bytes (payloads stay under 4 GiB, see CCodec).
        var length = 0, index = 1, shift = 0
        while true {
            guard index < payload.count, shift <= 28 else { return nil }
            let byte = payload[index]
            index += 1
            length |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        guard length == payload.count - index else { return nil }
        // The bytes are shared, not copied to change the first one: the frame writer sends it.
        return FramePayload(payload, firstByte: hostRecordsTag)
    }

    /// The first byte of an envelope holding a record batch: the field's number, wire type 2
    /// (length-delimited).
    static let pluginRecordsTag = UInt8(CCodec.pluginRecordsField << 3 | 2)
    static let hostRecordsTag = UInt8(CCodec.hostRecordsField << 3 | 2)
}

/// A frame's payload as it is written: `bytes`, the first of them sent as `firstByte` when that
/// is set. A host forwarding a source's record batch sends the bytes it received under the other
/// envelope's tag this way, without copying a batch of megabytes to change one byte.
public struct FramePayload: Sendable {
    /// The payload's bytes, shared with whoever else holds them.
    public let bytes: [UInt8]
    /// Sent in place of `bytes[0]`; nil sends `bytes` as they are.
    public let firstByte: UInt8?

    /// `bytes` as they are.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        firstByte = nil
    }

    /// `bytes` with the first sent as `firstByte` (none is sent for an empty payload).
    init(_ bytes: [UInt8], firstByte: UInt8) {
        self.bytes = bytes
        self.firstByte = bytes.isEmpty ? nil : firstByte
    }

    /// The payload's length in bytes.
    public var count: Int { bytes.count }
}
