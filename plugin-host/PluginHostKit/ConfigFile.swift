import Foundation
import Yams

/// A configuration file that could not be used; every problem is listed, none shows a value.
struct ConfigFileError: Error, Sendable {
    /// Each problem, `$.path: what is wrong` where a path applies.
    var problems: [String]
}

/// Loads a plugin configuration from YAML or JSON (JSON is YAML), expanding `${VAR}` and
/// `${VAR:-default}` in every string, and turns it into the JSON object sent to the plugin.
///
/// Unquoted YAML scalars take their YAML type (`port: ${PGPORT}` is a number) unless the
/// plugin's schema wants a string there (`password: 12345` stays text); quoted ones are text,
/// except a quoted `${VAR}` reference where the schema wants only a number or boolean
/// (`port: "${PGPORT}"`, the form YAML's inline `{…}` needs) takes its value's type.
struct ConfigFile {
    /// The file, or where an inline configuration comes from (for messages).
    let path: String
    let environment: [String: String]
    /// The plugin's configuration schema, for scalar typing.
    let schema: JSONValue

    /// The configuration in the file, as JSON.
    func load() throws(ConfigFileError) -> JSONValue {
        try loadLocated().value
    }

    /// The configuration in the file, and where each value is in it.
    func loadLocated() throws(ConfigFileError) -> Located {
        let bytes: [UInt8]
        do {
            bytes = try InputLimits.contents(of: path)
        } catch {
            switch error {
            case .tooLarge: throw ConfigFileError(problems: [InputLimits.tooLargeMessage("configuration", path)])
            case .unreadable:
                let reason = FileManager.default.fileExists(atPath: path) ? "it is not readable" : "no such file"
                throw ConfigFileError(problems: ["cannot read the configuration file \(path): \(reason)"])
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigFileError(problems: ["cannot read the configuration file \(path): it is not UTF-8 text"])
        }
        return try located(text: text)
    }

    /// The configuration written as `text` (YAML or JSON), as JSON.
    func load(text: String) throws(ConfigFileError) -> JSONValue {
        try located(text: text).value
    }

    /// A configuration and the position of each of its values in the text.
    struct Located {
        var value: JSONValue
        /// `line L, column C` by JSON path (`$.port`).
        var positions: [String: String]

        /// `problem` (`$.path: what`) with the position of its path, when known.
        func locate(_ problem: String) -> String {
            guard let colon = problem.range(of: ": "), problem[..<colon.lowerBound] != "$",
                  let position = positions[String(problem[..<colon.lowerBound])] else { return problem }
            return "\(problem) (\(position))"
        }
    }

    private func located(text: String) throws(ConfigFileError) -> Located {
        try InputLimits.checkYAML(text, origin: path)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigFileError(problems: ["\(path) is not valid YAML or JSON: \(Self.describe(error, in: text))"])
        }
        guard let root else { return Located(value: .object([]), positions: [:]) }
        var problems: [String] = []
        var positions: [String: String] = [:]
        let value = convert(root, schema: schema, path: JSONPath.root, problems: &problems, positions: &positions)
        guard problems.isEmpty else { throw ConfigFileError(problems: problems.map { Located(value: .null, positions: positions).locate($0) }) }
        return Located(value: value, positions: positions)
    }

    private func convert(_ node: Node, schema: JSONValue?, path: JSONPath, problems: inout [String],
                         positions: inout [String: String]) -> JSONValue {
        if let mark = node.mark { positions[path.description] = "line \(mark.line), column \(mark.column)" }
        switch node {
        case .mapping(let mapping):
            var members: [(key: String, value: JSONValue)] = []
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let key) = keyNode else {
                    problems.append("\(path): a key is not a plain string")
                    continue
                }
                let childPath = path.appending(key: key.string)
                members.append((key.string, convert(valueNode, schema: JSONSchemaValidator.propertySchema(schema, key.string),
                                                    path: childPath, problems: &problems, positions: &positions)))
            }
            return .object(members)
        case .sequence(let sequence):
            return .array(sequence.enumerated().map { index, element in
                convert(element, schema: schema?["items"], path: path.appending(index: index), problems: &problems, positions: &positions)
            })
        case .scalar(let scalar):
            return convert(scalar, schema: schema, path: path, problems: &problems)
        }
    }

    private func convert(_ original: Node.Scalar, schema: JSONValue?, path: JSONPath, problems: inout [String]) -> JSONValue {
        let text: String
        do {
            text = try EnvironmentExpansion(environment: environment).expand(original.string)
        } catch {
            switch error {
            case .unset(let name):
                problems.append("\(path): environment variable \(name) is not set (use ${\(name):-default} for a default)")
            case .malformed(let reason):
                problems.append("\(path): \(reason)")
            }
            return .null
        }
        // An untagged plain scalar takes the YAML type of its expanded text; a quoted one is
        // tagged str by the parser; an explicit tag (`!!str`) stays.
        let explicitTag = Tag.Name(rawValue: original.tag.description)
        var scalar = original
        scalar.string = text
        let quotedReference = explicitTag == .str && original.string.contains("${")
        // The resolver types only plain scalars.
        if quotedReference { scalar.style = .plain }
        let tag = explicitTag == .implicit || quotedReference ? Resolver.default.resolveTag(of: Node.scalar(scalar)) : explicitTag
        let typed: JSONValue
        switch tag {
        case .null: typed = .null
        case .bool: typed = Bool.construct(from: scalar).map(JSONValue.bool) ?? .string(text)
        case .int: typed = Int64.construct(from: scalar).map(JSONValue.integer) ?? .string(text)
        case .float:
            if case .number = (try? JSONParser.parse(text)) ?? .null {
                typed = .number(text)
            } else if let number = Double.construct(from: scalar), number.isFinite {
                typed = .number(number.description)
            } else {
                typed = .string(text)
            }
        default: typed = .string(text)
        }
        if case .string = typed { return typed }
        if quotedReference { return JSONSchemaValidator.wantsOnly(schema, typeOf: typed) ? typed : .string(text) }
        return explicitTag == .implicit && JSONSchemaValidator.wantsString(schema, not: typed) ? .string(text) : typed
    }

    /// A YAML error's kind and position, without the snippet of text (which may hold a secret).
    /// When the problem is on a line of `text` with a `${VAR}` reference inside YAML's inline
    /// `{…}` or `[…]` form (where braces end a plain value), says to quote it.
    static func describe(_ error: Error, in text: String) -> String {
        guard let yaml = error as? YamlError else { return "unreadable" }
        switch yaml {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let line = mark.line >= 1 && mark.line <= lines.count ? lines[mark.line - 1] : ""
            let inline = line.contains("${") && line.replacingOccurrences(of: "${", with: "").contains(where: { $0 == "{" || $0 == "[" })
            let hint = inline ? " (inside YAML's inline {…} or […] form a ${VAR} reference must be quoted: port: \"${PORT}\")" : ""
            return "\(problem) at line \(mark.line), column \(mark.column)\(hint)"
        case .reader(let problem, let offset, _, _):
            return offset.map { "\(problem) at byte \($0)" } ?? problem
        default:
            return "unreadable"
        }
    }
}
