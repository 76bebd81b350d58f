/// Validates a JSON value against the subset of JSON Schema (draft 2020-12) that plugin specs
/// use: `type` (one name or several), `properties`, `required`, `additionalProperties` (false
/// or a schema), `enum`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`,
/// `items`, `allOf`, `anyOf`, `oneOf`, and boolean schemas. Annotations (`default`,
/// `description`, …) are ignored.
///
/// Every problem is reported with its JSON path; no value of the configuration is ever quoted
/// (any of them may have been expanded from a `${VAR}` holding a secret).
struct JSONSchemaValidator {
    let schema: JSONValue

    /// Every problem of `value`, in document order, each as `$.path: what is wrong`.
    func problems(of value: JSONValue) -> [String] {
        var problems: [String] = []
        Self.check(value, against: schema, at: .root, into: &problems)
        return problems
    }

    // MARK: - Schema navigation (shared with the configuration loader)

    /// The schema of property `key` of an object valid against `schema`, when one applies.
    static func propertySchema(_ schema: JSONValue?, _ key: String) -> JSONValue? {
        guard let schema else { return nil }
        if let property = schema["properties"]?[key] { return property }
        if let additional = schema["additionalProperties"], case .object = additional { return additional }
        return nil
    }

    /// Whether `schema` accepts strings but not the type of `value` (so text should stay text).
    static func wantsString(_ schema: JSONValue?, not value: JSONValue) -> Bool {
        let types = typeNames(schema)
        return types.contains("string") && !types.contains(value.typeName)
            && !(value.typeName == "integer" && types.contains("number"))
    }

    /// Whether `schema` names its types, accepts the type of `value` (an integer where a number
    /// is wanted too), and does not accept strings: a quoted `"${PORT}"` then takes its value's type.
    static func wantsOnly(_ schema: JSONValue?, typeOf value: JSONValue) -> Bool {
        let types = typeNames(schema)
        return !types.contains("string")
            && (types.contains(value.typeName) || (value.typeName == "integer" && types.contains("number")))
    }

    private static func typeNames(_ schema: JSONValue?) -> [String] {
        switch schema?["type"] {
        case .string(let name): [name]
        case .array(let names): names.compactMap(\.stringValue)
        default: []
        }
    }

    // MARK: - Checks

    private static func check(_ value: JSONValue, against schema: JSONValue, at path: JSONPath, into problems: inout [String]) {
        switch schema {
        case .bool(true): return
        case .bool(false):
            problems.append("\(path): no value is allowed here")
            return
        case .object: break
        default: return
        }
        let types = typeNames(schema)
        if !types.isEmpty, !types.contains(where: { matches(value, type: $0) }) {
            problems.append("\(path): expected \(types.joined(separator: " or ")), got \(value.typeName)")
            return
        }
        if let allowed = schema["enum"]?.arrayElements, !allowed.contains(value) {
            let listed = allowed.map { $0.stringValue ?? JSONWriter.compact($0) }.joined(separator: ", ")
            // The value itself is not quoted: it may have come from a `${VAR}` holding a secret.
            problems.append("\(path): must be one of \(listed)")
        }
        if let number = value.doubleValue {
            checkBounds(number, schema: schema, at: path, into: &problems)
        }
        if case .object(let members) = value {
            checkObject(members, schema: schema, at: path, into: &problems)
        }
        if case .array(let elements) = value, let items = schema["items"] {
            for (index, element) in elements.enumerated() {
                check(element, against: items, at: path.appending(index: index), into: &problems)
            }
        }
        for part in schema["allOf"]?.arrayElements ?? [] {
            check(value, against: part, at: path, into: &problems)
        }
        if let alternatives = schema["anyOf"]?.arrayElements {
            let outcomes = alternatives.map { alternative in
                var found: [String] = []
                check(value, against: alternative, at: path, into: &found)
                return found
            }
            if !outcomes.contains(where: \.isEmpty) {
                problems.append("\(path): must satisfy at least one of: \(summary(outcomes, at: path))")
            }
        }
        if let alternatives = schema["oneOf"]?.arrayElements {
            let outcomes = alternatives.map { alternative in
                var found: [String] = []
                check(value, against: alternative, at: path, into: &found)
                return found
            }
            let passing = outcomes.filter(\.isEmpty).count
            if passing == 0 {
                problems.append("\(path): must satisfy exactly one of: \(summary(outcomes, at: path))")
            } else if passing > 1 {
                problems.append("\(path): satisfies \(passing) alternatives of oneOf; exactly one is allowed")
            }
        }
    }

    private static func checkObject(_ members: [(key: String, value: JSONValue)], schema: JSONValue, at path: JSONPath,
                                    into problems: inout [String]) {
        let properties = schema["properties"]?.objectMembers ?? []
        for required in schema["required"]?.arrayElements?.compactMap(\.stringValue) ?? []
        where !members.contains(where: { $0.key == required }) {
            problems.append("\(path): missing required property \(JSONWriter.compact(.string(required)))")
        }
        for member in members {
            let childPath = path.appending(key: member.key)
            if let property = properties.last(where: { $0.key == member.key }) {
                check(member.value, against: property.value, at: childPath, into: &problems)
            } else if let additional = schema["additionalProperties"] {
                if additional == .bool(false) {
                    problems.append("\(path): unknown property \(JSONWriter.compact(.string(member.key)))")
                } else {
                    check(member.value, against: additional, at: childPath, into: &problems)
                }
            }
        }
    }

    private static func checkBounds(_ number: Double, schema: JSONValue, at path: JSONPath, into problems: inout [String]) {
        if let minimum = schema["minimum"], let bound = minimum.doubleValue, number < bound {
            problems.append("\(path): must be at least \(JSONWriter.compact(minimum))")
        }
        if let maximum = schema["maximum"], let bound = maximum.doubleValue, number > bound {
            problems.append("\(path): must be at most \(JSONWriter.compact(maximum))")
        }
        if let minimum = schema["exclusiveMinimum"], let bound = minimum.doubleValue, number <= bound {
            problems.append("\(path): must be greater than \(JSONWriter.compact(minimum))")
        }
        if let maximum = schema["exclusiveMaximum"], let bound = maximum.doubleValue, number >= bound {
            problems.append("\(path): must be less than \(JSONWriter.compact(maximum))")
        }
    }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch type {
        case "number": if case .number = value { true } else { false }
        default: value.typeName == type
        }
    }

    /// The alternatives' problems, each without the repeated path prefix.
    private static func summary(_ outcomes: [[String]], at path: JSONPath) -> String {
        let prefix = "\(path): "
        return outcomes.map { found in
            "(" + found.map { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : $0 }.joined(separator: "; ") + ")"
        }.joined(separator: " or ")
    }
}
