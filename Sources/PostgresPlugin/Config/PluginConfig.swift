import Foundation
import SluiceWire

/// The whole plugin configuration: connection, batching, and each role's settings, read
/// from one flat JSON object.
struct PluginConfig: Sendable {
    var connection: ConnectionSettings
    var batch: BatchSettings
    var source: SourceSettings
    var destination: DestinationSettings

    /// Parses and validates configuration text; every problem is listed in the error.
    /// `environment` is where cloud identities find their credentials (AWS's variables).
    static func parse(_ json: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(PluginError) -> PluginConfig {
        var reader: ConfigReader
        switch ConfigReader.parse(json) {
        case .success(let parsed): reader = parsed
        case .failure(let error): throw Self.invalid(error.problems)
        }
        let known = Set(ConfigSchema.properties.keys)
        for key in reader.keys.sorted() where !known.contains(key) {
            reader.problem(key, "unknown setting") as Void?
        }
        let config = PluginConfig(connection: ConnectionSettings(&reader, environment: environment), batch: BatchSettings(&reader),
                                  source: SourceSettings(&reader), destination: DestinationSettings(&reader))
        guard reader.problems.isEmpty else { throw Self.invalid(reader.problems) }
        return config
    }

    private static func invalid(_ problems: [String]) -> PluginError {
        PluginError(category: .config, code: "INVALID_CONFIG",
                    message: "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n"))
    }
}

/// The configuration's JSON Schema, as GetSpec returns it.
enum ConfigSchema {
    static var properties: [String: Any] {
        var all: [String: Any] = [:]
        for part in [ConnectionSettings.schemaProperties, BatchSettings.schemaProperties,
                     SourceSettings.schemaProperties, DestinationSettings.schemaProperties] {
            all.merge(part) { first, _ in first }
        }
        return all
    }

    static var json: String {
        let schema: [String: Any] = [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Sluice PostgreSQL plugin",
            "type": "object",
            "additionalProperties": false,
            "anyOf": [["required": ["connection_string"]], ["required": ["host"]], ["required": ["database"]], ["required": ["user"]]],
            "properties": properties,
        ]
        let data = try! JSONSerialization.data(withJSONObject: schema, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
