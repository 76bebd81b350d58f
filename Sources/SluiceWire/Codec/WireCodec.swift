/// Encodes and decodes the protobuf payload of one frame (no frame header; see ``Frame``).
///
/// Decoding never traps on hostile input: an unparsable payload throws
/// ``ProtocolError/Code/undecodableMessage``; a parsable one that breaks the protocol (no message
/// set, unknown type kind, a record batch whose vectors do not fit its row count) throws
/// ``ProtocolError/Code/invalidMessage``. Checks that need the stream's schema are in
/// ``RecordBatch/validate(against:)``.
///
/// String fields travel as C strings, so a string field (not column data) ends at its first NUL.
public enum WireCodec {
    /// The protobuf payload of `message`.
    public static func encode(_ message: HostMessage) -> [UInt8] { CCodec.pack(message) }

    /// The protobuf payload of `message`.
    public static func encode(_ message: PluginMessage) -> [UInt8] { CCodec.pack(message) }

    /// The message in `payload`, with any record batch structurally checked.
    public static func decodeHostMessage(_ payload: [UInt8]) throws(ProtocolError) -> HostMessage {
        let message = try CCodec.unpackHostMessage(payload)
        if case .records(let batch) = message { try batch.checkStructure() }
        return message
    }

    /// The message in `payload`, with any record batch structurally checked.
    public static func decodePluginMessage(_ payload: [UInt8]) throws(ProtocolError) -> PluginMessage {
        let message = try CCodec.unpackPluginMessage(payload)
        if case .records(let batch) = message { try batch.checkStructure() }
        return message
    }
}
