import Foundation
import SluiceWire

/// The whole plugin configuration: connection, batching, and each role's settings, read
/// from one flat JSON object.
struct PluginConfig: Sendable {
    var connection: ConnectionSettings
    var batch: BatchSettings
    var source: SourceSettings
    var destination: DestinationSettings
    var cdc: CDCSettings
    /// The configuration as parsed: equal for two texts of one configuration whatever their
    /// key order and spacing (what a Read compares with its Discover's, ``DiscoverConnection``).
    let document: JSONValue

    /// Parses and validates configuration text; every problem is listed in the error.
    /// `environment` is where cloud identities find their credentials (AWS's variables).
    static func parse(_ json: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(PluginError) -> PluginConfig {
        var reader: ConfigReader
        switch ConfigReader.parse(json) {
        case .success(let parsed): reader = parsed
        case .failure(let error): throw Self.invalid(error.problems)
        }
        let config = PluginConfig(&reader, environment: environment)
        reader.refuseUnknownKeys()
        guard reader.problems.isEmpty else { throw Self.invalid(reader.problems) }
        return config
    }

    /// Reads every setting; what ``ConfigReader/described`` then holds is the whole schema.
    fileprivate init(_ reader: inout ConfigReader, environment: [String: String]) {
        connection = ConnectionSettings(&reader, environment: environment)
        batch = BatchSettings(&reader)
        source = SourceSettings(&reader)
        destination = DestinationSettings(&reader)
        cdc = CDCSettings(&reader)
        document = reader.document
    }

    private static func invalid(_ problems: [String]) -> PluginError {
        PluginError(category: .config, code: "INVALID_CONFIG",
                    message: "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n"))
    }
}

/// The configuration's JSON Schema, as GetSpec returns it: the description of every setting
/// that reading a configuration reads.
enum ConfigSchema {
    static var properties: [String: JSONValue] {
        var reader = ConfigReader(object: [:])
        _ = PluginConfig(&reader, environment: [:])
        return Dictionary(reader.described.map { ($0.key, $0.schema) }) { first, _ in first }
    }

    static var json: String {
        let required: [JSONValue] = ["connection_string", "host", "database", "user"].map { ["required": [.string($0)]] }
        let schema: JSONValue = [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Sluice PostgreSQL plugin",
            "type": "object",
            "additionalProperties": false,
            "anyOf": .array(required),
            "properties": .object(properties),
        ]
        return schema.prettyPrinted
    }
}
