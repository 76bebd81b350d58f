import SluiceWire

/// Every protocol message through protobuf-c unpack and the conversion to Swift values: any
/// payload either fails with a ``ProtocolError`` or decodes to a message whose encoding
/// decodes to the same message (compared by encoding, as NaN is not equal to itself).
/// The payload is tried both as a host message and as a plugin message.
enum FuzzMessages {
    static func run(_ input: [UInt8]) {
        if let message = try? WireCodec.decodeHostMessage(input) {
            let encoded = WireCodec.encode(message)
            let again: HostMessage
            do { again = try WireCodec.decodeHostMessage(encoded) } catch { preconditionFailure("re-encoded host message does not decode: \(error)") }
            precondition(WireCodec.encode(again) == encoded, "host message changed through encode and decode")
            precondition(again == message || hasNaN(encoded), "host message not equal after encode and decode")
        }
        if let message = try? WireCodec.decodePluginMessage(input) {
            let encoded = WireCodec.encode(message)
            let again: PluginMessage
            do { again = try WireCodec.decodePluginMessage(encoded) } catch { preconditionFailure("re-encoded plugin message does not decode: \(error)") }
            precondition(WireCodec.encode(again) == encoded, "plugin message changed through encode and decode")
            precondition(again == message || hasNaN(encoded), "plugin message not equal after encode and decode")
        }
    }

    /// Whether the payload may hold a NaN float (then `==` cannot hold); a coarse but safe test:
    /// every NaN's encoding holds a byte with the exponent's high bits set.
    private static func hasNaN(_ bytes: [UInt8]) -> Bool {
        bytes.contains { $0 & 0x7F == 0x7F }
    }
}
