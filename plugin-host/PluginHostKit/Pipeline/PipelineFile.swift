import Foundation
import SluiceWire
import Yams

/// A pipeline described in one YAML or JSON file:
///
/// ```yaml
/// source: {plugin: postgres-plugin, config: source.yaml}
/// destinations:
///   - plugin: postgres-plugin
///     config: {host: localhost, schema: copy, password: "${PGPASSWORD}"}
///     write_mode: upsert
/// catalog: catalog.json
/// state: state.json
/// name: orders-to-warehouse
/// strict: true
/// ```
///
/// `config` is a file path or an inline object (expanded and validated like a `--config` file);
/// `catalog` is a file path or an inline object in the same format (``ReadCatalogFile``, with
/// per-stream `write_mode` and `key_columns`); relative paths are relative to the pipeline
/// file; `${VAR}` is expanded everywhere.
struct PipelineFile {
    /// One plugin of the pipeline.
    struct Plugin {
        var plugin: String
        var config: PluginConfigSource?
        /// The destination's write mode for every stream (`.unspecified`: its configured default).
        var writeMode: WriteMode = .unspecified
    }

    var source: Plugin
    var destinations: [Plugin]
    var catalog: ReadCatalogFile.Source?
    var state: String?
    /// The pipeline's name: the id its destinations keep its committed states under.
    var name: String?
    /// Whether streams the source cannot read fail the pipeline instead of being skipped.
    var strict = false

    /// Reads the file at `path`; every problem is listed in one configuration failure.
    static func load(_ path: String, environment: [String: String]) throws -> PipelineFile {
        let bytes: [UInt8]
        do {
            bytes = try InputLimits.contents(of: path)
        } catch {
            throw HostFailure(ExitCodes.config, error == .tooLarge ? InputLimits.tooLargeMessage("pipeline", path)
                                                                   : "cannot read the pipeline file \(path): no such readable file")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw HostFailure(ExitCodes.config, "cannot read the pipeline file \(path): it is not UTF-8 text")
        }
        do {
            try InputLimits.checkYAML(text, origin: "the pipeline file \(path)")
        } catch {
            throw HostFailure.config("the pipeline file \(path) is refused:", error.problems)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw HostFailure(ExitCodes.config, "the pipeline file \(path) is not valid YAML or JSON: \(ConfigFile.describe(error, in: text))")
        }
        var reader = Reader(file: path, environment: environment,
                            directory: URL(fileURLWithPath: path).deletingLastPathComponent())
        let pipeline = reader.pipeline(root)
        guard reader.problems.isEmpty, let pipeline else {
            throw HostFailure.config("the pipeline file \(path) is invalid:", reader.problems)
        }
        return pipeline
    }

    /// Walks the document, collecting problems with their JSON paths.
    private struct Reader {
        let file: String
        let environment: [String: String]
        let directory: URL
        var problems: [String] = []

        mutating func pipeline(_ root: Node?) -> PipelineFile? {
            guard let root, case .mapping = root else {
                problems.append("$: expected an object with source and destinations")
                return nil
            }
            unknownKeys(root, allowed: ["name", "source", "destinations", "catalog", "state", "strict"], at: .root)
            let name = string(root["name"], at: JSONPath.root.appending(key: "name"))
            if name?.isEmpty == true { problems.append("\(JSONPath.root.appending(key: "name")): must not be empty") }
            let source = plugin(root["source"], at: JSONPath.root.appending(key: "source"), destination: false)
            var destinations: [Plugin] = []
            let path = JSONPath.root.appending(key: "destinations")
            if case .sequence(let sequence)? = root["destinations"], !sequence.isEmpty {
                for (index, node) in sequence.enumerated() {
                    if let destination = plugin(node, at: path.appending(index: index), destination: true) { destinations.append(destination) }
                }
            } else {
                problems.append("\(path): expected a non-empty array of destinations")
            }
            let catalog = self.catalog(root["catalog"], at: JSONPath.root.appending(key: "catalog"))
            let state = self.path(root["state"], at: JSONPath.root.appending(key: "state"))
            let strict = bool(root["strict"], at: JSONPath.root.appending(key: "strict")) ?? false
            guard let source else { return nil }
            return PipelineFile(source: source, destinations: destinations, catalog: catalog, state: state, name: name, strict: strict)
        }

        private mutating func plugin(_ node: Node?, at path: JSONPath, destination: Bool) -> Plugin? {
            guard let node, case .mapping = node else {
                problems.append("\(path): expected an object with plugin and config")
                return nil
            }
            unknownKeys(node, allowed: destination ? ["plugin", "config", "write_mode"] : ["plugin", "config"], at: path)
            guard let plugin = string(node["plugin"], at: path.appending(key: "plugin")) else {
                if node["plugin"] == nil { problems.append("\(path): missing required property \"plugin\"") }
                return nil
            }
            var result = Plugin(plugin: plugin.contains("/") ? resolve(plugin) : plugin)
            let configPath = path.appending(key: "config")
            switch node["config"] {
            case nil:
                break
            case .mapping(let mapping)?:
                do {
                    result.config = .inline(yaml: try Yams.serialize(node: .mapping(mapping)), origin: "\(file) \(configPath)")
                } catch {
                    problems.append("\(configPath): cannot be read")
                }
            case let other?:
                result.config = self.path(other, at: configPath).map(PluginConfigSource.file)
            }
            if let modeName = string(node["write_mode"], at: path.appending(key: "write_mode")) {
                if let mode = ProtocolNames.writeMode(named: modeName), mode != .unspecified {
                    result.writeMode = mode
                } else {
                    problems.append("\(path.appending(key: "write_mode")): must be one of \(WriteModeOption.allValueStrings.joined(separator: ", "))")
                }
            }
            return result
        }

        /// The catalog: a file path, or an inline object (`${VAR}` expanded in its strings).
        private mutating func catalog(_ node: Node?, at path: JSONPath) -> ReadCatalogFile.Source? {
            guard let node, case .mapping = node else { return self.path(node, at: path).map(ReadCatalogFile.Source.file) }
            do {
                let text = try Yams.serialize(node: node)
                let value = try ConfigFile(path: "\(file) \(path)", environment: environment, schema: .object([])).load(text: text)
                return .inline(value, origin: "in \(file)", path: path)
            } catch let error as ConfigFileError {
                problems += error.problems.map { "\(path): \($0)" }
            } catch {
                problems.append("\(path): cannot be read")
            }
            return nil
        }

        /// A path, expanded and resolved against the pipeline file's directory.
        private mutating func path(_ node: Node?, at path: JSONPath) -> String? {
            string(node, at: path).map(resolve)
        }

        private func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : directory.appendingPathComponent(path).path
        }

        /// `true` or `false` (after `${VAR}` expansion).
        private mutating func bool(_ node: Node?, at path: JSONPath) -> Bool? {
            guard let text = string(node, at: path) else { return nil }
            switch text {
            case "true": return true
            case "false": return false
            default:
                problems.append("\(path): expected true or false\(position(node))")
                return nil
            }
        }

        /// A scalar as text, `${VAR}` expanded.
        private mutating func string(_ node: Node?, at path: JSONPath) -> String? {
            guard let node else { return nil }
            guard case .scalar(let scalar) = node else {
                problems.append("\(path): expected a string\(position(node))")
                return nil
            }
            do {
                return try EnvironmentExpansion(environment: environment).expand(scalar.string)
            } catch {
                switch error {
                case .unset(let name): problems.append("\(path): environment variable \(name) is not set\(position(node))")
                case .malformed(let reason): problems.append("\(path): \(reason)\(position(node))")
                }
                return nil
            }
        }

        /// ` (line L, column C)` of `node` in the file.
        private func position(_ node: Node?) -> String {
            node?.mark.map { " (line \($0.line), column \($0.column))" } ?? ""
        }

        private mutating func unknownKeys(_ node: Node, allowed: Set<String>, at path: JSONPath) {
            guard case .mapping(let mapping) = node else { return }
            for key in mapping.keys {
                guard let name = key.string, allowed.contains(name) else {
                    problems.append("\(path): unknown property \(key.string.map { "\"\($0)\"" } ?? "key") (allowed: \(allowed.sorted().joined(separator: ", ")))\(position(key))")
                    continue
                }
            }
        }
    }
}

extension PipelineFile {
    /// The source's launch, then each destination's.
    func launches(logLevel: LogLevelOption, maxFrameSize: UInt32?, verbose: Bool) -> [PluginLaunch] {
        let sourceLaunch = PluginLaunch(plugin: source.plugin, config: source.config, configOption: "--source-config", logLevel: logLevel,
                                        maxFrameSize: maxFrameSize, verbose: verbose, label: "source")
        return [sourceLaunch] + destinations.enumerated().map { index, destination in
            PluginLaunch(plugin: destination.plugin, config: destination.config, configOption: "--destination-config", logLevel: logLevel,
                         maxFrameSize: maxFrameSize, verbose: verbose,
                         label: destinations.count == 1 ? "destination" : "destination \(index + 1)")
        }
    }
}
