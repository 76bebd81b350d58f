/// A location in a JSON document, printed as `$`, `$.port`, `$.tables[0]`, `$["odd key"]`.
struct JSONPath: Sendable, CustomStringConvertible {
    /// The document itself.
    static let root = JSONPath(description: "$")

    let description: String

    /// The member `key` of the object here.
    func appending(key: String) -> JSONPath {
        let plain = !key.isEmpty && key.utf8.allSatisfy { byte in
            byte == UInt8(ascii: "_") || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        }
        return JSONPath(description: plain ? "\(description).\(key)" : "\(description)[\(JSONWriter.compact(.string(key)))]")
    }

    /// The element `index` of the array here.
    func appending(index: Int) -> JSONPath {
        JSONPath(description: "\(description)[\(index)]")
    }
}
