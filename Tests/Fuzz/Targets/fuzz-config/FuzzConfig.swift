@testable import PluginHostKit

/// plugin-host's configuration readers: the YAML/JSON config loader with `${VAR}` expansion and
/// schema-directed typing, the JSON parser and the JSON Schema validator.
///
/// Any text either loads or fails with problems that never show a secret's value (a secret
/// property's, or an environment variable's while loading); what loads
/// is JSON that writes and parses back to itself. The same bytes parsed as JSON (the format of
/// specs, catalogs and states) likewise either fail or round-trip.
enum FuzzConfig {
    private static let secret = "s3cr3t-Value"
    private static let environment = ["PGHOST": "db.example", "PGPORT": "5432", "PGPASSWORD": secret, "EMPTY": ""]
    /// A schema shaped like the PostgreSQL plugin's: nested objects, arrays, enums, bounds,
    /// secrets, `oneOf`, and a closed top level.
    private static let schema = try! JSONParser.parse(#"""
        {"type": "object", "required": ["host"], "additionalProperties": false,
         "properties": {
           "host": {"type": "string"}, "port": {"type": "integer", "minimum": 1, "maximum": 65535},
           "password": {"type": "string", "secret": true}, "database": {"type": ["string", "null"]},
           "ssl": {"type": "object", "additionalProperties": false,
                   "properties": {"mode": {"enum": ["disable", "require", "verify-full"]}, "root_cert": {"type": "string"}}},
           "schemas": {"type": "array", "items": {"type": "string"}},
           "batch": {"type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0}},
           "cursor": {"oneOf": [{"type": "boolean"}, {"type": "object", "properties": {"field": {"type": "string"}}}]},
           "tuning": {"anyOf": [{"type": "integer"}, {"type": "string"}], "allOf": [true]}
         }}
        """#)
    private static let validator = JSONSchemaValidator(schema: schema)

    static func run(_ input: [UInt8]) {
        let text = String(decoding: input, as: UTF8.self)
        let mayShowSecret = text.contains(secret)
        do {
            let value = try ConfigFile(path: "fuzz.yaml", environment: environment, schema: schema).load(text: text)
            roundTrip(value)
            // No problem quotes a value, so none shows a secret expanded from `${PGPASSWORD}`,
            // whichever property it went into.
            for problem in validator.problems(of: value) {
                precondition(mayShowSecret || !problem.contains(secret), "a problem shows the secret")
            }
        } catch {
            for problem in error.problems {
                precondition(mayShowSecret || !problem.contains(secret), "a load problem shows the secret")
            }
        }
        if let value = try? JSONParser.parse(input) {
            roundTrip(value)
            _ = validator.problems(of: value)
        }
    }

    /// Compact and pretty JSON both parse back to `value`.
    private static func roundTrip(_ value: JSONValue) {
        for written in [JSONWriter.compact(value), JSONWriter.pretty(value)] {
            guard let again = try? JSONParser.parse(written) else { preconditionFailure("written JSON does not parse: \(written)") }
            precondition(again == value, "JSON changed through write and parse: \(written)")
        }
    }
}
