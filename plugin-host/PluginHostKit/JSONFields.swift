import Foundation

/// Reads typed fields of a JSON object from a host file (catalogs, states), collecting every
/// problem with its JSON path instead of stopping at the first.
struct JSONFields {
    let value: JSONValue
    let path: JSONPath

    /// Loads and parses a JSON file; a missing or malformed file is a configuration failure.
    static func load(_ path: String, what: String) throws -> JSONValue {
        let bytes: [UInt8]
        do {
            bytes = try InputLimits.contents(of: path)
        } catch {
            throw HostFailure(ExitCodes.config, error == .tooLarge ? InputLimits.tooLargeMessage(what, path)
                                                                   : "cannot read the \(what) file \(path): no such readable file")
        }
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw HostFailure(ExitCodes.config, "the \(what) file \(path) is not valid JSON: \(error)")
        }
    }

    /// Adds a problem for every member of this object not in `allowed`, named by its path.
    func rejectUnknownKeys(allowed: [String], _ problems: inout [String]) {
        guard case .object(let members) = value else { return }
        for member in members where !allowed.contains(member.key) {
            problems.append("\(path.appending(key: member.key)): unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    /// An optional string member.
    func string(_ key: String, _ problems: inout [String]) -> String? {
        guard let member = value[key], member != .null else { return nil }
        guard let text = member.stringValue else {
            problems.append("\(path.appending(key: key)): expected a string, got \(member.typeName)")
            return nil
        }
        return text
    }

    /// A string member that must be present.
    func requiredString(_ key: String, _ problems: inout [String]) -> String? {
        guard value[key] != nil, value[key] != .null else {
            problems.append("\(path): missing required property \"\(key)\"")
            return nil
        }
        return string(key, &problems)
    }

    /// An optional boolean member.
    func bool(_ key: String, _ problems: inout [String]) -> Bool? {
        guard let member = value[key], member != .null else { return nil }
        guard case .bool(let flag) = member else {
            problems.append("\(path.appending(key: key)): expected a boolean, got \(member.typeName)")
            return nil
        }
        return flag
    }

    /// An optional non-negative integer member.
    func unsigned(_ key: String, _ problems: inout [String]) -> UInt64? {
        guard let member = value[key], member != .null else { return nil }
        guard let number = member.int64Value, number >= 0 else {
            problems.append("\(path.appending(key: key)): expected a non-negative integer")
            return nil
        }
        return UInt64(number)
    }

    /// An optional array of strings.
    func strings(_ key: String, _ problems: inout [String]) -> [String] {
        guard let member = value[key], member != .null else { return [] }
        guard let elements = member.arrayElements, elements.allSatisfy({ $0.stringValue != nil }) else {
            problems.append("\(path.appending(key: key)): expected an array of strings")
            return []
        }
        return elements.compactMap(\.stringValue)
    }

    /// An optional object member, with its own reader.
    func object(_ key: String, _ problems: inout [String]) -> JSONFields? {
        guard let member = value[key], member != .null else { return nil }
        guard case .object = member else {
            problems.append("\(path.appending(key: key)): expected an object, got \(member.typeName)")
            return nil
        }
        return JSONFields(value: member, path: path.appending(key: key))
    }

    /// The objects of an array member, each with its own reader.
    func objects(_ key: String, required: Bool, _ problems: inout [String]) -> [JSONFields] {
        guard let member = value[key], member != .null else {
            if required { problems.append("\(path): missing required property \"\(key)\"") }
            return []
        }
        guard let elements = member.arrayElements else {
            problems.append("\(path.appending(key: key)): expected an array")
            return []
        }
        return elements.enumerated().compactMap { index, element in
            let elementPath = path.appending(key: key).appending(index: index)
            guard case .object = element else {
                problems.append("\(elementPath): expected an object")
                return nil
            }
            return JSONFields(value: element, path: elementPath)
        }
    }
}
