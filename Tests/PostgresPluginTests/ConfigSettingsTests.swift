import Foundation
import Testing
@testable import PostgresPlugin

/// The configuration schema GetSpec returns against what reading a configuration does: every
/// setting the schema lists is read with its constraints, and nothing it does not list is
/// accepted. The cases come from the schema itself, so a new setting is covered when added.
@Suite("Configuration: the schema and the reader agree")
struct ConfigSettingsTests {
    /// One setting of the schema and where it sits: its key path and the smallest valid
    /// configuration around it (the enclosing objects' required settings).
    private struct Located {
        var path: [String]
        var schema: [String: Any]
        /// Builds a configuration with `value` at `path`.
        var configuration: (Any) -> [String: Any]
    }

    private static var base: [String: Any] { ["host": "localhost"] }
    /// The smallest valid value of each nested object, around the setting being tried.
    private static var objectBases: [String: [String: Any]] { [
        "ssh_tunnel": ["host": "bastion", "user": "me", "private_key": "key"],
        "embeddings": ["tables": [["table": "t", "embed_columns": ["body"]]]],
        "auth": [:],
    ] }

    private static func schema() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(ConfigSchema.json.utf8)) as? [String: Any])
    }

    /// Every scalar setting of the schema, nested ones included (the items of `embeddings.tables` too).
    private static func settings() throws -> [Located] {
        let properties = try #require(try schema()["properties"] as? [String: [String: Any]])
        var found: [Located] = []
        for (key, property) in properties {
            if let nested = property["properties"] as? [String: [String: Any]] {
                let objectBase = objectBases[key] ?? [:]
                for (inner, innerProperty) in nested {
                    if let items = innerProperty["items"] as? [String: Any], let itemProperties = items["properties"] as? [String: [String: Any]] {
                        let item = ((objectBase[inner] as? [[String: Any]])?.first) ?? [:]
                        for (field, fieldProperty) in itemProperties {
                            found.append(Located(path: [key, inner, "0", field], schema: fieldProperty) { value in
                                var entry = item
                                entry[field] = value
                                var object = objectBase
                                object[inner] = [entry]
                                return base.merging([key: object]) { _, new in new }
                            })
                        }
                        continue
                    }
                    found.append(Located(path: [key, inner], schema: innerProperty) { value in
                        var object = objectBase
                        object[inner] = value
                        return base.merging([key: object]) { _, new in new }
                    })
                }
            } else {
                found.append(Located(path: [key], schema: property) { value in base.merging([key: value]) { _, new in new } })
            }
        }
        return found
    }

    /// The problems of a configuration, or [] when it parses.
    private static func problems(_ configuration: [String: Any]) throws -> [String] {
        let data = try JSONSerialization.data(withJSONObject: configuration)
        do {
            _ = try PluginConfig.parse(String(decoding: data, as: UTF8.self), environment: [:])
            return []
        } catch {
            return error.message.split(separator: "\n").dropFirst().map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "- ", with: "", options: .anchored) }
        }
    }

    /// The JSON path a problem about `path` starts with.
    private static func jsonPath(_ path: [String]) -> String {
        path.reduce("$") { text, part in Int(part) != nil ? "\(text)[\(part)]" : "\(text).\(part)" }
    }

    @Test("integer settings refuse values outside their schema's range and take the range's ends")
    func integerRanges() throws {
        var tried = 0
        for setting in try Self.settings() where setting.schema["type"] as? String == "integer" {
            let minimum = try #require(setting.schema["minimum"] as? Int, "\(setting.path) has no minimum")
            let maximum = try #require(setting.schema["maximum"] as? Int, "\(setting.path) has no maximum")
            for inside in [minimum, maximum] {
                let problems = try Self.problems(setting.configuration(inside)).filter { $0.hasPrefix(Self.jsonPath(setting.path) + ": must be between") }
                #expect(problems.isEmpty, "\(setting.path) = \(inside): \(problems)")
            }
            for outside in [minimum - 1, maximum + 1] {
                let problems = try Self.problems(setting.configuration(outside))
                #expect(problems.contains { $0.hasPrefix(Self.jsonPath(setting.path) + ": must be between") },
                        "\(setting.path) = \(outside) passed: \(problems)")
            }
            tried += 1
        }
        #expect(tried >= 11)
    }

    @Test("choice settings take each name the schema lists and refuse others")
    func choices() throws {
        var tried = 0
        for setting in try Self.settings() {
            guard let names = setting.schema["enum"] as? [String] else { continue }
            for name in names {
                let problems = try Self.problems(setting.configuration(name)).filter { $0.hasPrefix(Self.jsonPath(setting.path) + ":") }
                #expect(problems.isEmpty, "\(setting.path) = \(name): \(problems)")
            }
            let problems = try Self.problems(setting.configuration("no-such-choice"))
            #expect(problems.contains { $0.hasPrefix(Self.jsonPath(setting.path) + ": must be one of") }, "\(setting.path): \(problems)")
            tried += 1
        }
        #expect(tried >= 12)
    }

    @Test("every setting refuses a value of the wrong JSON type, naming its path")
    func wrongTypes() throws {
        for setting in try Self.settings() {
            let wrong: Any = switch setting.schema["type"] as? String {
            case "string": [1]
            case "object": "text"
            default: ["nested": ["x"]] as [String: Any]
            }
            let problems = try Self.problems(setting.configuration(wrong))
            #expect(problems.contains { $0.hasPrefix(Self.jsonPath(setting.path) + ":") }, "\(setting.path): \(problems)")
        }
    }

    @Test("keys the schema does not list are refused at every level, with their paths")
    func unknownKeys() throws {
        var configuration = Self.base
        configuration["colour"] = "blue"
        configuration["ssh_tunnel"] = Self.objectBases["ssh_tunnel"]!.merging(["colour": 1]) { _, new in new }
        configuration["embeddings"] = ["tables": [["table": "t", "embed_columns": ["body"], "colour": 1]], "colour": 1]
        configuration["auth"] = ["colour": 1]
        let problems = try Self.problems(configuration)
        for path in ["$.colour", "$.ssh_tunnel.colour", "$.embeddings.colour", "$.embeddings.tables[0].colour", "$.auth.colour"] {
            #expect(problems.contains("\(path): unknown setting"), "\(path): \(problems)")
        }
        #expect(problems.count == 5, "\(problems)")
    }

    @Test("the defaults the schema shows are what an absent setting reads as")
    func defaults() throws {
        let config = try PluginConfig.parse(#"{"host": "localhost"}"#, environment: [:])
        let properties = try #require(try Self.schema()["properties"] as? [String: [String: Any]])
        func shown(_ key: String) -> Any? { properties[key]?["default"] }
        #expect(shown("batch_size") as? Int == config.batch.batchSize)
        #expect(shown("max_connections") as? Int == config.batch.maxConnections)
        #expect(shown("table_layout") as? String == config.destination.tableLayout.rawValue)
        #expect(shown("insert_method") as? String == config.destination.insertMethod.rawValue)
        #expect(shown("postgres_rows") as? Bool == true && config.destination.postgresRows)
        #expect(shown("transaction_scope") as? String == config.destination.transactionScope.rawValue)
        #expect(shown("deletes") as? String == config.destination.deletes.rawValue)
        #expect(shown("snapshot") as? String == config.source.snapshot.rawValue)
        #expect(shown("metadata_columns") as? Bool == config.destination.metadataColumns)
        #expect(shown("schema") as? String == config.connection.schema)
        #expect(shown("lock_timeout") as? String == "60s" && config.connection.lockTimeoutMilliseconds == 60_000)
        #expect(shown("batch_timeout") as? String == "60s" && config.destination.batchTimeout == 60)
        #expect(shown("checkpoint_interval") as? String == "1s" && config.source.checkpoints.interval == 1)
        #expect(shown("checkpoint_bytes") as? Int == config.source.checkpoints.bytes)
        #expect(shown("split_tables") as? Bool == false && !config.source.splitTables)
        #expect(shown("resumable_read_min_bytes") as? Int == 256 << 20 && config.source.resumableReadMinBytes == 256 << 20)
        #expect(config.destination.writeMode == nil && config.connection.sslmode == nil && config.connection.port == nil)
    }

    @Test("write_mode takes CloudQuery's names as aliases")
    func writeModeAliases() throws {
        #expect(try PluginConfig.parse(#"{"host": "h", "write_mode": "overwrite"}"#, environment: [:]).destination.writeMode == .upsert)
        #expect(try PluginConfig.parse(#"{"host": "h", "write_mode": "overwrite-delete-stale"}"#, environment: [:]).destination.writeMode == .mirror)
        #expect(try PluginConfig.parse(#"{"host": "h", "write_mode": "update-only"}"#, environment: [:]).destination.writeMode == .updateOnly)
    }
}
