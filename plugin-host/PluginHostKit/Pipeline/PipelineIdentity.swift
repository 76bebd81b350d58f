import SluiceWire

/// The id a pipeline's destinations store its committed states under (`WriteRequest.pipeline_id`,
/// PROTOCOL.md §8.1): the pipeline's `name` when it has one, else one derived from what makes it
/// the same pipeline: the source plugin, its configuration without secrets, and the streams read.
enum PipelineIdentity {
    /// `name`, or `<source plugin>-<16 hex digits>` derived from the source and the streams.
    static func id(name: String?, sourcePlugin: String, sourceConfig: JSONValue, schema: JSONValue, streams: [StreamID]) -> String {
        if let name, !name.isEmpty { return name }
        let identity = JSONWriter.compact(.array([
            .string(sourcePlugin),
            canonical(sourceConfig, schema: schema),
            .array(streams.map(\.description).sorted().map(JSONValue.string)),
        ]))
        return "\(sourcePlugin)-\(hex(fnv1a(Array(identity.utf8))))"
    }

    /// `value` with object keys sorted and the properties `schema` marks `"secret": true` left out
    /// (a secret's change, such as a rotated password, is not a new pipeline).
    private static func canonical(_ value: JSONValue, schema: JSONValue?) -> JSONValue {
        switch value {
        case .object(let members):
            let properties = schema?["properties"]
            let kept = members.filter { properties?[$0.key]?["secret"] != .bool(true) }
                .sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            return .object(kept.map { ($0.key, canonical($0.value, schema: properties?[$0.key])) })
        case .array(let items):
            return .array(items.map { canonical($0, schema: schema?["items"]) })
        default:
            return value
        }
    }

    /// 64-bit FNV-1a: a stable, dependency-free digest for a name (not for security: the id is
    /// not secret, and nothing secret goes into it).
    private static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
